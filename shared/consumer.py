"""Consumer wrapper: each event is handled in one transaction with its inbox row, offsets are
committed only after that transaction, and a poison event goes to the dead-letter topic."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from shared.aio import stop_if_cancelled
from shared.bus.base import Bus, BusUnavailable, Consumer, Record
from shared.db import compiled_once, fixed_insert, insert_ignore
from shared.events.envelope import CloudEvent, EventData
from shared.events.topics import dead_letter_topic
from shared.logs import event_id_var
from shared.metrics import CONSUMER_LAG, DEAD_LETTERS, EVENTS_HANDLED, HANDLER_FAILURES
from shared.outbox import TYPE_HEADER
from shared.tx import Tx

log = logging.getLogger("fupin.consumer")

Handler = Callable[[Tx, CloudEvent, EventData], Awaitable[None]]
BatchHandler = Callable[[Tx, list[tuple[CloudEvent, EventData]]], Awaitable[None]]


@dataclass
class Subscription:
    """A consumer group of one service: the topics it reads and a handler per event type."""

    group: str
    topics: Sequence[str]
    handlers: dict[str, Handler] = field(default_factory=dict)
    batch_handlers: dict[str, BatchHandler] = field(default_factory=dict)

    def on(self, event_type: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self.handlers[event_type] = fn
            return fn

        return register

    def on_many(self, event_type: str) -> Callable[[BatchHandler], BatchHandler]:
        """A handler for a run of consecutive events of one type, applied set-based. It also
        serves single events (retries, redrive, replay) as a run of one."""

        def register(fn: BatchHandler) -> BatchHandler:
            async def one(tx: Tx, event: CloudEvent, payload: EventData) -> None:
                await fn(tx, [(event, payload)])

            self.batch_handlers[event_type] = fn
            self.handlers[event_type] = one
            return fn

        return register


class EventConsumer:
    def __init__(self, *, runtime, subscription: Subscription, bus: Bus,
                 max_attempts: int = 5, retry_delay: float = 0.05) -> None:
        self.runtime = runtime
        self.sub = subscription
        self.bus = bus
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay
        self.consumer: Consumer | None = None
        self._lag_reported = 0.0
        self._committing: asyncio.Task | None = None

    async def run_forever(self) -> None:
        while True:
            try:
                await self._run()
            except Exception as exc:
                stop_if_cancelled(exc)  # shutdown, whatever the driver made of it
                # Broker or database away (aiokafka's commit raises KafkaError, asyncpg its
                # own CannotConnectNowError while PostgreSQL restarts): start again from the
                # committed offsets - the inbox makes the replay harmless. Before, anything
                # but BusUnavailable/OSError ended the task and the group silently stopped.
                log.warning("consumer %s restarting after %s", self.sub.group,
                            type(exc).__name__)
                await asyncio.sleep(1.0)

    async def _run(self) -> None:
        await self.bus.ensure_topics([*self.sub.topics, dead_letter_topic(self.sub.group)])
        self.consumer = self.bus.consumer(group=self.sub.group, topics=self.sub.topics)
        await self.consumer.start()
        try:
            while True:
                records = await self.consumer.poll(max_records=500, timeout=1.0)
                if records:
                    await self.process(records)
                    await self._report_lag()
        finally:
            pending, self._committing = self._committing, None
            try:
                # A clean stop keeps the last batch's offsets; a broker that does not answer
                # neither holds the stop up nor replaces the exception (or the cancellation)
                # that ends the loop: uncommitted offsets only mean a harmless redelivery.
                # (The task itself is awaited: a coroutine made for the wait would be left
                # un-awaited, with a warning, when the loop is already closing.)
                if pending is not None:
                    await asyncio.wait_for(pending, timeout=5.0)
            except Exception as exc:
                log.info("consumer %s stopped before its last offsets were committed: %s",
                         self.sub.group, type(exc).__name__)
            finally:
                await self.consumer.stop()

    async def process(self, records: list[Record]) -> None:
        """Handle a polled batch in order, then commit the offsets it covered.

        The batch is first tried as ONE transaction (inbox rows and effects together); if
        anything in it fails, it is rolled back and handled event by event, with retries
        and dead letters, so one bad event costs speed, never correctness."""
        if len(records) < 2 or not await self._handle_batch(records):
            for record in records:
                await self.handle(record)
        positions: dict[tuple[str, int], int] = {}
        for record in records:
            positions[(record.topic, record.partition)] = record.offset + 1
        assert self.consumer is not None
        # The offsets go to the broker while the next batch is polled and handled (a round
        # trip to the group coordinator less per batch on the way of every event). Commits
        # stay in order - each waits for the previous one, whose failure surfaces here - and
        # an offset not yet committed when the process dies only means a redelivery, which
        # the inbox makes harmless.
        await self._committed()
        self._committing = asyncio.create_task(self.consumer.commit(positions))

    async def _committed(self) -> None:
        """Wait for the offsets of the previous batch (raising what their commit raised)."""
        task, self._committing = self._committing, None
        if task is not None:
            await task

    async def _handle_batch(self, records: list[Record]) -> bool:
        try:
            events = [_parse(r.value) for r in records if not self._passed_over(r)]
        except Exception:
            return False  # the event-by-event path dead-letters what cannot be parsed
        work = [(e, self.sub.handlers[e.type]) for e in events if e.type in self.sub.handlers]
        if not work:
            return True
        inbox = self.runtime.infra.inbox
        try:
            async with self.runtime.sessionmaker() as session:
                tx = self.runtime.new_tx(session, actor=f"event:{self.sub.group}")
                unique, seen = [], set()
                for event, handler in work:
                    if event.id not in seen:  # the same event twice in a batch: once
                        seen.add(event.id)
                        unique.append((event, handler))
                # Claim the events in one statement: the inbox rows it inserted are the
                # events not handled before (by this process or by another member).
                now = dt.datetime.now(dt.UTC)
                claimed = set((await session.execute(_claim_statement(tx.dialect, inbox), [
                    {"consumer_group": self.sub.group, "event_id": e.id, "processed_at": now}
                    for e, _ in unique])).scalars())
                fresh = [(e, h) for e, h in unique if e.id in claimed]
                for run in _runs(fresh):
                    await self._apply_run(tx, run)
                    await session.flush()  # later runs in the batch see these rows
                emitted = bool(tx.events)
                await tx.flush()
                await session.commit()
        except Exception as exc:
            stop_if_cancelled(exc)  # shutdown, whatever the driver made of it
            log.info("batch of %d fell back to one by one: %s", len(records), type(exc).__name__)
            return False
        for type_, n in Counter(e.type for e, _ in fresh).items():
            EVENTS_HANDLED.labels(self.sub.group, type_).inc(n)
        if emitted:  # a batch that emitted nothing leaves the relay asleep (one query less)
            self.runtime.relay.wake()
        return True

    async def _apply_run(self, tx: Tx, run: list[tuple[CloudEvent, Handler]]) -> None:
        """Consecutive events of one type: one call to its batch handler if it has one, so
        order across types (and so per household) is kept."""
        batch = self.sub.batch_handlers.get(run[0][0].type)
        if batch is not None and len(run) > 1:
            await batch(tx, [(e, e.payload()) for e, _ in run])
            return
        for event, handler in run:
            token = event_id_var.set(event.id)
            try:
                await handler(tx, event, event.payload())
            finally:
                event_id_var.reset(token)

    def _passed_over(self, record: Record) -> bool:
        """True when the record's type header names a type this group does not handle (it
        would be parsed only to be ignored); records without the header are parsed."""
        for key, value in record.headers:
            if key == TYPE_HEADER:
                return value.decode() not in self.sub.handlers
        return False

    async def handle(self, record: Record) -> None:
        if self._passed_over(record):
            return  # not an event this group acts on
        try:
            event = _parse(record.value)
        except Exception as exc:
            await self._dead_letter(record, None, exc, attempts=1)
            return
        handler = self.sub.handlers.get(event.type)
        if handler is None:
            return  # not an event this group acts on
        token = event_id_var.set(event.id)
        try:
            await self._handle_with_retries(record, event, handler)
        finally:
            event_id_var.reset(token)

    async def _handle_with_retries(self, record: Record, event: CloudEvent,
                                   handler: Handler) -> None:
        last: Exception | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                await self._handle_once(event, handler)
                EVENTS_HANDLED.labels(self.sub.group, event.type).inc()
                return
            except Exception as exc:  # every failure is retried, then dead-lettered
                stop_if_cancelled(exc)  # shutdown, whatever the driver made of it
                if is_transient(exc) or not await self._database_answers():
                    raise  # the database or the bus is away: not the event's fault
                last = exc
                HANDLER_FAILURES.labels(self.sub.group, event.type).inc()
                log.warning("handler failed (attempt %d/%d): %s", attempt, self.max_attempts,
                            type(exc).__name__, extra={"event_type": event.type})
                await asyncio.sleep(self.retry_delay * attempt)
        assert last is not None
        await self._dead_letter(record, event, last, attempts=self.max_attempts)

    async def _database_answers(self) -> bool:
        """Whether the service's database takes a connection now (after a failed attempt:
        a refusal of any shape - asyncpg has several - is the database's fault, not the
        event's)."""
        try:
            async with self.runtime.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
                await conn.rollback()
            return True
        except Exception:
            return False

    async def _handle_once(self, event: CloudEvent, handler: Handler) -> None:
        payload = event.payload()
        async with self.runtime.sessionmaker() as session:
            tx = self.runtime.new_tx(session, actor=f"event:{self.sub.group}")
            claimed = await session.execute(insert_ignore(
                tx.dialect, self.runtime.infra.inbox,
                {"consumer_group": self.sub.group, "event_id": event.id,
                 "processed_at": dt.datetime.now(dt.UTC)}))
            if claimed.rowcount == 0:
                await session.rollback()
                return  # already processed: redelivery is harmless
            await handler(tx, event, payload)
            await tx.flush()
            await session.commit()
        self.runtime.relay.wake()

    async def _dead_letter(self, record: Record, event: CloudEvent | None, exc: Exception,
                           *, attempts: int) -> None:
        """Keep the event and its error in the service's database and on the DLQ topic
        (through the outbox, so it is not lost either), then move on."""
        error = " ".join(f"{type(exc).__name__}: {exc}".split())[:2000]
        infra = self.runtime.infra
        async with self.runtime.sessionmaker() as session:
            await session.execute(infra.dead_letters.insert().values(
                consumer_group=self.sub.group, topic=record.topic, partition=record.partition,
                offset=record.offset, event_id=event.id if event else None,
                event_type=event.type if event else None, key=record.key,
                value=record.value.decode("utf-8", "replace"), error=error, attempts=attempts,
                failed_at=dt.datetime.now(dt.UTC)))
            dlq = {"group": self.sub.group, "topic": record.topic, "partition": record.partition,
                   "offset": record.offset, "error": error, "event_id": event.id if event else None}
            await session.execute(infra.outbox.insert().values(
                event_id=_dlq_id(record, self.sub.group), topic=dead_letter_topic(self.sub.group),
                key=record.key or "", type="dead_letter",
                payload=json.dumps({"dead_letter": dlq, "value": record.value.decode(
                    "utf-8", "replace")}, ensure_ascii=False),
                created_at=dt.datetime.now(dt.UTC)))
            await session.commit()
        DEAD_LETTERS.labels(self.sub.group).inc()
        log.error("event dead-lettered after %d attempts", attempts,
                  extra={"event_type": event.type if event else None, "topic": record.topic})

    async def _report_lag(self, every: float = 5.0) -> None:
        """At most every `every` seconds: on Kafka each report asks the group coordinator
        once per partition, which after every small batch cost more than the batch."""
        if self.consumer is None or time.monotonic() - self._lag_reported < every:
            return
        self._lag_reported = time.monotonic()
        try:
            for (topic, partition), lag in (await self.consumer.lag()).items():
                CONSUMER_LAG.labels(self.sub.group, topic, str(partition)).set(lag)
        except Exception:  # lag is best-effort telemetry
            log.debug("lag unavailable")


def is_transient(exc: BaseException) -> bool:
    """True when `exc` says the database or the bus is unreachable, not that the event is
    bad: such a failure must not use up an event's attempts nor dead-letter it (a database
    restart of a few seconds would otherwise park every event it touched)."""
    import asyncpg

    transient = (BusUnavailable, OSError, asyncpg.PostgresConnectionError,
                 asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError,
                 asyncpg.CrashShutdownError)
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, transient):
            return True
        if isinstance(e, sa.exc.DBAPIError) and e.connection_invalidated:
            return True
        todo += [e.__cause__, e.__context__, getattr(e, "orig", None)]
    return False


def _parse(raw: bytes) -> CloudEvent:
    """`CloudEvent.from_bytes` in one pass: pydantic parses and validates the JSON itself
    (the same model, the same errors - both are ValueErrors), without json.loads first."""
    return CloudEvent.model_validate_json(raw)


@functools.cache
def _claim_statement(dialect: str, inbox: sa.Table):
    """INSERT the inbox rows, skipping those already there, RETURNING the event ids it
    inserted (built once per dialect and table, run with a batch's rows)."""
    return compiled_once(fixed_insert(dialect, inbox).on_conflict_do_nothing()
                         .returning(inbox.c.event_id))


def _runs(work: list[tuple[CloudEvent, Handler]]) -> list[list[tuple[CloudEvent, Handler]]]:
    """Split a batch into runs of one event type that may be applied together.

    Layer k holds every aggregate's k-th event of the batch, so applying the layers in order
    keeps each aggregate's (each key's) order - the only order Kafka guarantees; inside a
    layer the events of one type form one run, whatever the other types in between."""
    depth: dict[str, int] = {}
    layers: list[dict[str, list[tuple[CloudEvent, Handler]]]] = []
    for item in work:
        level = depth.get(item[0].subject, 0)
        depth[item[0].subject] = level + 1
        if level == len(layers):
            layers.append({})
        layers[level].setdefault(item[0].type, []).append(item)
    return [run for layer in layers for run in layer.values()]


def _dlq_id(record: Record, group: str) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{group}/{record.topic}/{record.partition}/"
                                              f"{record.offset}/{dt.datetime.now(dt.UTC)}"))


async def redrive(runtime, *, dead_letter_id: int | None = None) -> int:
    """Handle dead letters again through the same handlers; return how many succeeded."""
    t = runtime.infra.dead_letters
    async with runtime.sessionmaker() as session:
        query = sa.select(t).where(t.c.redriven_at.is_(None)).order_by(t.c.id)
        if dead_letter_id is not None:
            query = query.where(t.c.id == dead_letter_id)
        rows = (await session.execute(query)).all()
        await session.rollback()
    done = 0
    for row in rows:
        sub = runtime.subscription(row.consumer_group)
        try:
            event = CloudEvent.model_validate_json(row.value)
        except ValueError:
            continue  # not an event at all: nothing a handler could do with it
        handler = sub.handlers.get(event.type) if sub else None
        if handler is None:
            continue
        consumer = EventConsumer(runtime=runtime, subscription=sub, bus=runtime.bus)
        try:
            await consumer._handle_once(event, handler)
        except Exception as exc:
            log.warning("redrive failed: %s", type(exc).__name__)
            continue
        async with runtime.sessionmaker() as session:
            await session.execute(t.update().where(t.c.id == row.id)
                                  .values(redriven_at=dt.datetime.now(dt.UTC)))
            await session.commit()
        done += 1
    return done
