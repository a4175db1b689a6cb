"""The relay: publishes committed outbox rows in order, then marks them published."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import zlib

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.aio import stop_if_cancelled, woken
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
                 batch_size: int = 500, idle_seconds: float = 0.2,
                 batches_per_turn: int = 10) -> None:
        self.service, self.engine, self.table, self.bus = service, engine, table, bus
        self.batch_size, self.idle_seconds = batch_size, idle_seconds
        self.batches_per_turn = batches_per_turn
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
                published = await self.publish_once(batches=self.batches_per_turn)
                backoff = 0.2
            except Exception as exc:
                stop_if_cancelled(exc)  # shutdown, whatever the driver made of it
                # Whatever went wrong (broker down, database restarting - asyncpg raises its
                # own CannotConnectNowError then, neither DBAPIError nor OSError - or a bug),
                # the relay must outlive it: a dead relay task fails silently and the outbox
                # grows until the process restarts.
                log.warning("outbox relay paused: %s", type(exc).__name__,
                            extra={"service": self.service})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if published < self.batch_size * self.batches_per_turn:
                await woken(self._wake, self.idle_seconds)

    async def publish_once(self, *, batches: int = 1) -> int:
        """Publish up to `batches` batches in one turn; return how many rows went out.

        On PostgreSQL a turn is one connection and one transaction holding the leader lock:
        the connection check, BEGIN, the lock and COMMIT are paid once per turn, not per
        batch (a backlog drains with a SELECT and an UPDATE per batch). Each batch is
        published - every message acknowledged - before its rows are marked and before the
        next batch is read, so the topic keeps the outbox order. The turn ends at the first
        batch that is not full. If a later batch fails, the batches already acknowledged are
        committed as published before the error goes up (were that COMMIT to fail too, they
        would only be published again: at-least-once, the consumers' inbox drops the copies)."""
        postgres = self.engine.dialect.name == "postgresql"
        total = 0
        async with self.engine.connect() as conn:
            if postgres:
                await conn.begin()
                got = await conn.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(self._lock_key)))
                if not got:
                    await conn.rollback()
                    return 0
            try:
                for _ in range(max(1, batches)):
                    n = await self._publish_batch(conn, postgres)
                    total += n
                    if n < self.batch_size:
                        break
            except BaseException:
                if postgres and total:
                    try:
                        await conn.commit()
                    except Exception:
                        log.info("outbox relay: published rows not marked, they go again",
                                 extra={"service": self.service})
                raise
            if postgres:
                await conn.commit()
        if total:
            OUTBOX_PUBLISHED.labels(self.service).inc(total)
        return total

    async def _publish_batch(self, conn, postgres: bool) -> int:
        """Read the oldest unpublished rows, publish them, mark them published (in the turn's
        transaction on PostgreSQL; SQLite commits around the publish, so as not to hold its
        write lock meanwhile). The rows this transaction marked are no longer unpublished
        for its next read."""
        t = self.table
        if not postgres:
            await conn.begin()
        rows = (await conn.execute(
            sa.select(t.c.id, t.c.topic, t.c.key, t.c.type, t.c.payload)
            .where(t.c.published_at.is_(None)).order_by(t.c.id).limit(self.batch_size)
        )).all()
        if not postgres:
            await conn.commit()
        if not rows:
            return 0
        await self.bus.publish([
            Outgoing(r.topic, r.key, r.payload.encode(),
                     (CE_CONTENT_TYPE, (TYPE_HEADER, r.type.encode()))) for r in rows
        ])
        ids = [r.id for r in rows]
        now = dt.datetime.now(dt.UTC)
        if postgres:
            # One array parameter: an IN list of 500 ids costs SQLAlchemy a rendering of 500
            # bound parameters per batch.
            await conn.execute(_mark_statement(t), {"ids": ids, "now": now})
        else:
            await conn.begin()
            await conn.execute(t.update().where(t.c.id.in_(ids)).values(published_at=now))
            await conn.commit()
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


@functools.cache
def _mark_statement(table: sa.Table):
    """PostgreSQL: UPDATE the outbox rows whose id is in the array `ids` (built once)."""
    return (table.update()
            .where(table.c.id == sa.any_(sa.bindparam("ids", type_=postgresql.ARRAY(sa.BigInteger))))
            .values(published_at=sa.bindparam("now", type_=table.c.published_at.type)))
