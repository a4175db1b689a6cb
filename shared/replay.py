"""Rebuild a service's projections from the topics they were built from."""

from __future__ import annotations

import contextlib
import logging

import sqlalchemy as sa

from shared.consumer import EventConsumer
from shared.events.envelope import CloudEvent
from shared.service import Projection, ServiceRuntime

log = logging.getLogger("fupin.replay")


async def replay_projection(runtime: ServiceRuntime, projection: Projection) -> int:
    """Empty the projection's tables and its inbox rows, then apply every event again.

    Run it while the service's consumers are stopped (e.g. `fupin replay <service>` before
    starting the service); events published meanwhile are applied when they start."""
    sub = projection.subscription
    async with runtime.sessionmaker() as session:
        for table in projection.tables:
            await session.execute(sa.text(f"DELETE FROM {table}"))
        inbox = runtime.infra.inbox
        await session.execute(inbox.delete().where(inbox.c.consumer_group == sub.group))
        await session.commit()
    consumer = EventConsumer(runtime=runtime, subscription=sub, bus=runtime.bus)
    applied = 0
    for topic in sub.topics:
        # In chunks: a province's topic holds millions of events, memory holds one chunk.
        async with contextlib.aclosing(runtime.bus.scan_topic(topic)) as chunks:
            async for records in chunks:
                for record in records:
                    event = CloudEvent.from_bytes(record.value)
                    handler = sub.handlers.get(event.type)
                    if handler is not None:
                        await consumer._handle_once(event, handler)
                        applied += 1
    log.info("replayed %d events into %s", applied, ",".join(projection.tables))
    return applied
