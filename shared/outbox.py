"""The relay: publishes committed outbox rows in order, then marks them published."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import zlib

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.bus.base import Bus, Outgoing
from shared.metrics import OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE, OUTBOX_PUBLISHED

log = logging.getLogger("fupin.outbox")
CE_CONTENT_TYPE = ("content-type", b"application/cloudevents+json")
TYPE_HEADER = "fupin-event-type"
"""A header repeating the event's type (the value stays the structured CloudEvent), so a
consumer group can pass over the types it does not handle without parsing them."""


class OutboxRelay:
    """One leader per service database publishes (a PostgreSQL advisory lock), so the
    outbox order - and so every key's order - is the order on the topic."""

    def __init__(self, *, service: str, engine: AsyncEngine, table: sa.Table, bus: Bus,
                 batch_size: int = 500, idle_seconds: float = 0.2) -> None:
        self.service, self.engine, self.table, self.bus = service, engine, table, bus
        self.batch_size, self.idle_seconds = batch_size, idle_seconds
        self._wake = asyncio.Event()
        self._lock_key = zlib.crc32(f"fupin-outbox-{service}".encode())

    def wake(self) -> None:
        self._wake.set()

    async def run_forever(self) -> None:
        backoff = 0.2
        while True:
            # Cleared before reading the outbox, not after: a commit that wakes the relay
            # while it publishes is then seen at once, instead of waiting `idle_seconds`.
            self._wake.clear()
            try:
                published = await self.publish_once()
                backoff = 0.2
            except Exception as exc:
                # Whatever went wrong (broker down, database restarting - asyncpg raises its
                # own CannotConnectNowError then, neither DBAPIError nor OSError - or a bug),
                # the relay must outlive it: a dead relay task fails silently and the outbox
                # grows until the process restarts.
                log.warning("outbox relay paused: %s", type(exc).__name__,
                            extra={"service": self.service})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if published < self.batch_size:
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self.idle_seconds)
                except TimeoutError:
                    pass

    async def publish_once(self) -> int:
        """Publish up to one batch; return how many rows went out."""
        t = self.table
        postgres = self.engine.dialect.name == "postgresql"
        async with self.engine.connect() as conn:
            if postgres:
                await conn.begin()
                got = await conn.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(self._lock_key)))
                if not got:
                    await conn.rollback()
                    return 0
            rows = (await conn.execute(
                sa.select(t.c.id, t.c.topic, t.c.key, t.c.type, t.c.payload)
                .where(t.c.published_at.is_(None)).order_by(t.c.id).limit(self.batch_size)
            )).all()
            if not postgres:
                await conn.commit()  # SQLite: do not hold the write lock while publishing
            if not rows:
                if postgres:
                    await conn.rollback()
                return 0
            await self.bus.publish([
                Outgoing(r.topic, r.key, r.payload.encode(),
                         (CE_CONTENT_TYPE, (TYPE_HEADER, r.type.encode()))) for r in rows
            ])
            if not postgres:
                await conn.begin()
            await conn.execute(t.update().where(t.c.id.in_([r.id for r in rows]))
                               .values(published_at=dt.datetime.now(dt.UTC)))
            await conn.commit()
        OUTBOX_PUBLISHED.labels(self.service).inc(len(rows))
        return len(rows)

    async def backlog(self) -> tuple[int, float]:
        """Unpublished rows and the age in seconds of the oldest one."""
        t = self.table
        async with self.engine.connect() as conn:
            count, oldest = (await conn.execute(
                sa.select(sa.func.count(), sa.func.min(t.c.created_at))
                .where(t.c.published_at.is_(None)))).one()
            await conn.rollback()
        age = 0.0
        if oldest is not None:
            if oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=dt.UTC)
            age = (dt.datetime.now(dt.UTC) - oldest).total_seconds()
        OUTBOX_BACKLOG.labels(self.service).set(count)
        OUTBOX_OLDEST_AGE.labels(self.service).set(age)
        return count, age
