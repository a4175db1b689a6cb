"""The tasks service (任务与责任) as one deployable unit."""

from pathlib import Path

from services.tasks.api import pairings, plans, rectifications, reports, tasks, units
from services.tasks.api.examples import EXAMPLES
from services.tasks.db.tables import infra, metadata
from services.tasks.domain.enums import ALL_ENUMS
from services.tasks.events import projection, rules
from services.tasks.scheduler import overdue_job
from shared.events.topics import TASKS
from shared.metrics import TASKS_OVERDUE_TASKS
from shared.service import GaugeQuery, ServiceDefinition
from shared.web import merged_router

router = merged_router(*(module.router for module in (units, plans, tasks, rectifications,
                                                      pairings, reports)))

definition = ServiceDefinition(
    examples=EXAMPLES,
    name="tasks",
    router=router,
    metadata=metadata,
    infra=infra,
    migrations=Path(__file__).parent / "db" / "migrations",
    enums=ALL_ENUMS,
    subscriptions=(rules.subscription,),
    projections=(projection.households,),
    background=(overdue_job,),
    topics=(TASKS,),
    gauges=(GaugeQuery(
        TASKS_OVERDUE_TASKS,
        "SELECT substr(region_code, 1, 6), COUNT(*) FROM tasks WHERE due_on < :today "
        "AND status IN ('open', 'in_progress') GROUP BY substr(region_code, 1, 6)"),),
)
