"""A service runtime outside the web app, for operations commands and benchmarks."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from shared.bus import bus_from_settings
from shared.crypto import cipher_from_settings
from shared.db import create_engine, sessionmaker
from shared.migrate import upgrade
from shared.outbox import OutboxRelay
from shared.service import ServiceDefinition, ServiceRuntime
from shared.settings import Settings


@contextlib.asynccontextmanager
async def open_runtime(definition: ServiceDefinition, settings: Settings, *,
                       migrate: bool = True) -> AsyncIterator[ServiceRuntime]:
    bus = bus_from_settings(settings)
    await bus.start()
    engine = create_engine(settings.database_url(definition.name))
    try:
        if migrate:
            await upgrade(engine, definition.migrations)
        relay = OutboxRelay(service=definition.name, engine=engine,
                            table=definition.infra.outbox, bus=bus)
        yield ServiceRuntime(definition=definition, settings=settings, engine=engine,
                             sessionmaker=sessionmaker(engine), bus=bus,
                             cipher=cipher_from_settings(settings), relay=relay)
    finally:
        await engine.dispose()
        await bus.stop()
