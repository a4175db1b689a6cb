"""The funds service (专项扶贫资金) as one deployable unit."""

from pathlib import Path

from services.funds.api import ledger, projects, reports, sources
from services.funds.api.examples import EXAMPLES
from services.funds.db.tables import infra, metadata
from services.funds.domain.enums import ALL_ENUMS
from services.funds.events.registry_handlers import households
from services.funds.jobs import alert_job
from shared.events.topics import FUNDS_LEDGER
from shared.metrics import FUNDS_STAGNANT_ALLOCATIONS
from shared.service import GaugeQuery, ServiceDefinition
from shared.web import merged_router

router = merged_router(sources.router, projects.router, ledger.router, reports.router)

definition = ServiceDefinition(
    examples=EXAMPLES,
    name="funds",
    router=router,
    metadata=metadata,
    infra=infra,
    migrations=Path(__file__).parent / "db" / "migrations",
    enums=ALL_ENUMS,
    projections=(households,),
    background=(alert_job,),
    topics=(FUNDS_LEDGER,),
    gauges=(GaugeQuery(
        FUNDS_STAGNANT_ALLOCATIONS,
        "SELECT substr(al.region_code, 1, 6), COUNT(*) FROM alerts al "
        "JOIN allocations a ON a.id = al.allocation_id "
        "LEFT JOIN allocation_balances b ON b.allocation_id = a.id "
        "WHERE al.kind = 'stagnant' AND COALESCE(b.disbursed_fen, 0) < a.amount_fen "
        "GROUP BY substr(al.region_code, 1, 6)"),),
)
