"""The monitoring service (防返贫动态监测) as one deployable unit."""

from pathlib import Path

from services.monitoring.api import alerts, cases, rules, signals, sweeps
from services.monitoring.api.examples import EXAMPLES
from services.monitoring.db.tables import infra, metadata
from services.monitoring.domain.enums import ALL_ENUMS
from services.monitoring.events.registry_handlers import household_projection, rules_subscription
from shared.events.topics import MONITORING_CASES
from shared.metrics import MONITORING_OPEN_ALERTS, MONITORING_OVERDUE_ALERTS
from shared.service import GaugeQuery, ServiceDefinition
from shared.web import merged_router

router = merged_router(*(module.router for module in (rules, signals, alerts, cases, sweeps)))

definition = ServiceDefinition(
    examples=EXAMPLES,
    name="monitoring",
    router=router,
    metadata=metadata,
    infra=infra,
    migrations=Path(__file__).parent / "db" / "migrations",
    enums=ALL_ENUMS,
    projections=(household_projection,),
    subscriptions=(rules_subscription,),
    topics=(MONITORING_CASES,),
    gauges=(
        GaugeQuery(MONITORING_OPEN_ALERTS,
                   "SELECT substr(region_code, 1, 6), COUNT(*) FROM alerts "
                   "WHERE status = 'open' GROUP BY substr(region_code, 1, 6)"),
        GaugeQuery(MONITORING_OVERDUE_ALERTS,
                   "SELECT substr(region_code, 1, 6), COUNT(*) FROM alerts "
                   "WHERE status = 'open' AND due_on < :today GROUP BY substr(region_code, 1, 6)"),
    ),
)
