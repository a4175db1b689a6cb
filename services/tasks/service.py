"""The tasks service as one deployable unit."""

from pathlib import Path

from fastapi import APIRouter

from services.tasks.db.tables import infra, metadata
from services.tasks.domain.enums import ALL_ENUMS
from shared.events.topics import TASKS
from shared.service import ServiceDefinition

router = APIRouter()

definition = ServiceDefinition(
    name="tasks",
    router=router,
    metadata=metadata,
    infra=infra,
    migrations=Path(__file__).parent / "db" / "migrations",
    enums=ALL_ENUMS,
    topics=(TASKS,),
)
