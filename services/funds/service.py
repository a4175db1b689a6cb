"""The funds service as one deployable unit."""

from pathlib import Path

from fastapi import APIRouter

from services.funds.db.tables import infra, metadata
from services.funds.domain.enums import ALL_ENUMS
from shared.events.topics import FUNDS_LEDGER
from shared.service import ServiceDefinition

router = APIRouter()

definition = ServiceDefinition(
    name="funds",
    router=router,
    metadata=metadata,
    infra=infra,
    migrations=Path(__file__).parent / "db" / "migrations",
    enums=ALL_ENUMS,
    topics=(FUNDS_LEDGER,),
)
