"""The registry service (建档立卡) as one deployable unit."""

from pathlib import Path

from services.registry.api import households, imports, records, regions, rules
from services.registry.api.examples import EXAMPLES
from services.registry.db.tables import infra, metadata
from services.registry.domain.enums import ALL_ENUMS
from shared.events.topics import HOUSEHOLDS, REGIONS
from shared.service import ServiceDefinition
from shared.web import merged_router

router = merged_router(regions.router, households.router, records.router, rules.router,
                       imports.router)

definition = ServiceDefinition(
    examples=EXAMPLES,
    name="registry",
    router=router,
    metadata=metadata,
    infra=infra,
    migrations=Path(__file__).parent / "db" / "migrations",
    enums=ALL_ENUMS,
    topics=(HOUSEHOLDS, REGIONS),
    encrypted_columns=(("members", "id", "id_cipher"),),
)
