"""The funds service (专项扶贫资金) as one deployable unit."""

from pathlib import Path

from fastapi import APIRouter

from services.funds.api import ledger, projects, reports, sources
from services.funds.db.tables import infra, metadata
from services.funds.domain.enums import ALL_ENUMS
from services.funds.events.registry_handlers import households
from services.funds.jobs import alert_job
from shared.events.topics import FUNDS_LEDGER
from shared.service import ServiceDefinition

router = APIRouter()
router.include_router(sources.router)
router.include_router(projects.router)
router.include_router(ledger.router)
router.include_router(reports.router)

definition = ServiceDefinition(
    name="funds",
    router=router,
    metadata=metadata,
    infra=infra,
    migrations=Path(__file__).parent / "db" / "migrations",
    enums=ALL_ENUMS,
    projections=(households,),
    background=(alert_job,),
    topics=(FUNDS_LEDGER,),
)
