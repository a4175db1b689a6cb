"""Consumer wrapper on both runtimes: inbox de-duplication, dead letters, redrive, outbox relay."""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest

from shared.consumer import EventConsumer, Subscription, redrive
from shared.events.envelope import CloudEvent
from shared.events.registry import HouseholdExited
from shared.events.topics import HOUSEHOLDS, dead_letter_topic
from shared.outbox import OutboxRelay
from tests.support.db import count, rows
from tests.support.platform import eventually
from tests.support.tasks import stops_when_cancelled


def _event(household_id: str = "h-1", year: int = 2019) -> CloudEvent:
    return CloudEvent.of(HouseholdExited(household_id=household_id, region_code="430902100201",
                                         year=year),
                         service="registry", subject=household_id, region_code="430902100201")


async def _publish(bus, *events: CloudEvent) -> None:
    from shared.bus.base import Outgoing

    await bus.publish([Outgoing(HOUSEHOLDS, e.subject, e.to_bytes()) for e in events])


@contextlib.asynccontextmanager
async def running(*coros):
    tasks = [asyncio.create_task(c) for c in coros]
    try:
        yield
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture
async def monitoring(platform):
    await platform.start("monitoring", background=False)
    return platform


def _counting_subscription(group: str, *, fail_years: set[int] = frozenset()) -> Subscription:
    sub = Subscription(group=group, topics=[HOUSEHOLDS])

    @sub.on(HouseholdExited.type)
    async def handle(tx, event, payload: HouseholdExited) -> None:
        if payload.year in fail_years:
            raise ValueError("this year cannot be handled")
        tx.audit("test.handled", "household", payload.household_id, after={"year": payload.year})

    return sub


class TestInbox:
    async def test_redelivered_event_has_one_effect(self, monitoring):
        rt = monitoring.runtime("monitoring")
        bus = await monitoring.new_bus()
        event = _event()
        await _publish(bus, event, event)  # a duplicate on the topic
        sub = _counting_subscription("test.inbox")
        consumer = EventConsumer(runtime=rt, subscription=sub, bus=rt.bus, max_attempts=2)
        async with running(consumer.run_forever()):
            await eventually(lambda: count(rt, "inbox"))
            await asyncio.sleep(0.3)
        # A new member of the group after a crash before commit sees it all again.
        consumer2 = EventConsumer(runtime=rt, subscription=sub, bus=await monitoring.new_bus())
        first = consumer2.bus.consumer(group="test.inbox", topics=[HOUSEHOLDS])
        await first.start()
        records = []
        for _ in range(40):
            records += await first.poll(timeout=0.25)
            if records:
                break
        await first.stop()
        for record in records:
            await consumer2.handle(record)
        assert await count(rt, "audit_log", "WHERE action = 'test.handled'") == 1
        assert await count(rt, "inbox") == 1


class TestBatch:
    async def test_batch_claims_each_event_once(self, monitoring):
        """A polled batch holding an event handled before and an event twice: the batch
        path (one claiming insert for the inbox) handles every new event exactly once."""
        from shared.bus.base import Record

        rt = monitoring.runtime("monitoring")
        sub = _counting_subscription("test.batch")
        consumer = EventConsumer(runtime=rt, subscription=sub, bus=rt.bus)
        old, new, other = _event("h-old"), _event("h-new"), _event("h-other")
        records = [Record(HOUSEHOLDS, 0, k, e.subject, e.to_bytes())
                   for k, e in enumerate([old, new, old, new, other])]
        await consumer.handle(records[0])
        assert await consumer._handle_batch(records), "the batch fell back to one by one"
        handled = await rows(rt, "SELECT resource_id FROM audit_log "
                                 "WHERE action = 'test.handled' ORDER BY resource_id")
        assert [h.resource_id for h in handled] == ["h-new", "h-old", "h-other"]
        assert await count(rt, "inbox", "WHERE consumer_group = 'test.batch'") == 3
        assert await consumer._handle_batch(records)  # all of it again: nothing new
        assert await count(rt, "audit_log", "WHERE action = 'test.handled'") == 3

    async def test_stopping_commits_the_last_batch(self, monitoring):
        """Offsets are committed in the background while the next batch is handled; a
        stopped consumer has still committed everything it handled."""
        rt = monitoring.runtime("monitoring")
        bus = await monitoring.new_bus()
        await _publish(bus, *[_event(f"h-{k}") for k in range(5)])
        sub = _counting_subscription("test.commit")
        consumer = EventConsumer(runtime=rt, subscription=sub, bus=rt.bus)
        async with running(consumer.run_forever()):
            await eventually(lambda: _at_least(rt, "WHERE consumer_group = 'test.commit'", 5))
        sentinel = _event("h-after")
        await _publish(bus, sentinel)
        # The group's next member starts at the committed offsets: at the sentinel.
        later = (await monitoring.new_bus()).consumer(group="test.commit", topics=[HOUSEHOLDS])
        await later.start()
        got = []
        try:
            for _ in range(120):
                got += await later.poll(timeout=0.25)
                if any(r.key == "h-after" for r in got):
                    break
        finally:
            await later.stop()
        assert [r.key for r in got] == ["h-after"]


    async def test_types_the_group_does_not_handle_are_passed_over_by_header(self, monitoring):
        """The relay names each event's type in a header; a group passes over the records of
        types it has no handler for without parsing them, and handles the others."""
        from shared.bus.base import Outgoing
        from shared.events.registry import HouseholdRelapsed
        from shared.outbox import TYPE_HEADER

        rt = monitoring.runtime("monitoring")
        bus = await monitoring.new_bus()
        handled = _event("h-handled")
        other = CloudEvent.of(HouseholdRelapsed(household_id="h-x", region_code="430902100201",
                                                reason="illness", occurred_on="2024-05-01"),
                              service="registry", subject="h-x", region_code="430902100201")
        # Published by the relay from outbox rows: the headers come from the rows' types.
        async with rt.sessionmaker() as session:
            tx = rt.new_tx(session, actor="test")
            tx.events += [other, handled]
            await tx.flush()
            await session.commit()
        assert await rt.relay.publish_once() == 2
        async def both_on_topic():
            found = await bus.read_topic(HOUSEHOLDS)
            return found if len(found) == 2 else None

        on_topic = await eventually(both_on_topic)  # two keys: two partitions on Kafka
        assert {r.key: dict(r.headers)[TYPE_HEADER].decode() for r in on_topic} == {
            "h-x": other.type, "h-handled": handled.type}
        # A value that is no event at all under an unhandled type's header: passed over,
        # where parsing it would have dead-lettered it.
        junk = Outgoing(HOUSEHOLDS, "h-y", b"not json", ((TYPE_HEADER, other.type.encode()),))
        await bus.publish([junk])
        sub = _counting_subscription("test.header")
        consumer = EventConsumer(runtime=rt, subscription=sub, bus=rt.bus)
        async with running(consumer.run_forever()):
            await eventually(lambda: count(rt, "inbox", "WHERE consumer_group = 'test.header'"))
            await asyncio.sleep(0.3)
        handled_rows = await rows(rt, "SELECT resource_id FROM audit_log "
                                      "WHERE action = 'test.handled'")
        assert [r.resource_id for r in handled_rows] == ["h-handled"]
        assert await count(rt, "dead_letters") == 0
        assert await count(rt, "inbox", "WHERE consumer_group = 'test.header'") == 1


async def _at_least(rt, where: str, n: int) -> bool:
    return await count(rt, "inbox", where) >= n


class TestShutdown:
    async def test_a_handler_cancelled_into_another_error_stops_and_parks_nothing(
            self, monitoring):
        # A cancellation that lands inside a driver call can surface as the driver's own
        # error: it is the consumer's shutdown, not a failure of the event to retry or park.
        rt = monitoring.runtime("monitoring")
        await _publish(rt.bus, _event("h-stop"))
        handling = asyncio.Event()
        sub = Subscription(group="test.shutdown", topics=[HOUSEHOLDS])

        @sub.on(HouseholdExited.type)
        async def handle(tx, event, payload) -> None:
            handling.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                raise RuntimeError("connection closed while cancelled") from None

        consumer = EventConsumer(runtime=rt, subscription=sub, bus=rt.bus, max_attempts=2)
        task = asyncio.create_task(consumer.run_forever())
        await asyncio.wait_for(handling.wait(), timeout=20)
        assert await stops_when_cancelled(task)
        assert await count(rt, "dead_letters") == 0


class TestDeadLetters:
    async def test_poison_event_is_parked_and_does_not_block(self, monitoring):
        rt = monitoring.runtime("monitoring")
        bus = await monitoring.new_bus()
        poison, fine = _event("h-poison", 1999), _event("h-fine", 2019)
        await _publish(bus, poison, fine)
        sub = _counting_subscription("test.dlq", fail_years={1999})
        consumer = EventConsumer(runtime=rt, subscription=sub, bus=rt.bus, max_attempts=3,
                                 retry_delay=0.01)
        async with running(consumer.run_forever(), rt.relay.run_forever()):
            await eventually(lambda: count(rt, "audit_log", "WHERE action = 'test.handled'"))
            await eventually(lambda: _dlq_on_topic(bus, "test.dlq"))
        letters = await rows(rt, "SELECT event_id, error, attempts FROM dead_letters")
        assert [(r.event_id, r.attempts) for r in letters] == [(poison.id, 3)]
        assert "ValueError" in letters[0].error
        handled = await rows(rt, "SELECT resource_id FROM audit_log WHERE action = 'test.handled'")
        assert [h.resource_id for h in handled] == ["h-fine"]
        parked = json.loads((await bus.read_topic(dead_letter_topic("test.dlq")))[0].value)
        assert parked["dead_letter"]["event_id"] == poison.id

    async def test_unparseable_value_goes_straight_to_dead_letters(self, monitoring):
        from shared.bus.base import Outgoing

        rt = monitoring.runtime("monitoring")
        bus = await monitoring.new_bus()
        await bus.publish([Outgoing(HOUSEHOLDS, "x", b"not json")])
        consumer = EventConsumer(runtime=rt, subscription=_counting_subscription("test.garbage"),
                                 bus=rt.bus)
        async with running(consumer.run_forever()):
            await eventually(lambda: count(rt, "dead_letters"))
        assert (await rows(rt, "SELECT attempts FROM dead_letters"))[0].attempts == 1

    async def test_redrive_after_fix(self, monitoring):
        rt = monitoring.runtime("monitoring")
        bus = await monitoring.new_bus()
        await _publish(bus, _event("h-later", 1999))
        broken = _counting_subscription("test.redrive", fail_years={1999})
        consumer = EventConsumer(runtime=rt, subscription=broken, bus=rt.bus, max_attempts=2,
                                 retry_delay=0.01)
        async with running(consumer.run_forever()):
            await eventually(lambda: count(rt, "dead_letters"))
        fixed = _counting_subscription("test.redrive")
        rt.subscription = lambda group: fixed if group == "test.redrive" else None
        assert await redrive(rt) == 1
        assert await count(rt, "audit_log", "WHERE action = 'test.handled'") == 1
        assert await count(rt, "dead_letters", "WHERE redriven_at IS NULL") == 0
        assert await redrive(rt) == 0


async def _dlq_on_topic(bus, group: str) -> bool:
    return bool(await bus.read_topic(dead_letter_topic(group)))


class TestRelay:
    async def test_relay_started_while_log_unavailable_publishes_once_back(self, platform,
                                                                          backend, tmp_path):
        """The broker (or the embedded log's file) is unreachable when the relay starts."""
        await platform.start("registry", background=False)
        rt = platform.runtime("registry")
        client = platform.client("registry")
        r = await client.post("/api/v1/registry/regions", json={"code": "43", "name": "湖南省"},
                              headers=platform.auth())
        assert r.status_code == 201
        unreachable, restore = await _make_unreachable(platform, backend, tmp_path)
        relay = OutboxRelay(service="registry", engine=rt.engine, table=rt.infra.outbox,
                            bus=unreachable, idle_seconds=0.05)
        async with running(relay.run_forever()):
            await asyncio.sleep(3)
            assert await count(rt, "outbox", "WHERE published_at IS NULL") == 1
            await restore()
            await eventually(lambda: _all_published(rt), timeout=60)
        from shared.events.topics import REGIONS

        published = await eventually(lambda: unreachable.read_topic(REGIONS), timeout=30)
        assert [json.loads(p.value)["subject"] for p in published] == ["43"]


async def _all_published(rt) -> bool:
    return await count(rt, "outbox", "WHERE published_at IS NULL") == 0


async def _make_unreachable(platform, backend, tmp_path):
    """Stop the real broker, or put a file where the embedded log's directory must be."""
    if backend == "real":
        from shared.bus.kafka import KafkaBus
        from tests.support.servers import FAULT_KAFKA_PORT, kafka_ctl

        await kafka_ctl("stop")  # the fault tests' own broker, not the shared one
        bus = KafkaBus(f"127.0.0.1:{FAULT_KAFKA_PORT}", prefix=platform.prefix)
        platform._stack.push_async_callback(bus.stop)
        platform._stack.push_async_callback(kafka_ctl, "stop")

        async def restore() -> None:
            await kafka_ctl("start")

        return bus, restore
    from shared.bus.embedded import EmbeddedBus

    blocker = tmp_path / "log-dir"
    blocker.write_text("not a directory")
    bus = EmbeddedBus(blocker / "events.db")

    async def restore_embedded() -> None:
        blocker.unlink()

    return bus, restore_embedded


def test_runs_keep_each_aggregates_order_and_group_types():
    from shared.consumer import _runs

    def ev(subject, kind):
        return CloudEvent(source="/t", type=kind, subject=subject, data={}), None

    batch = [ev("a", "reg"), ev("a", "inc"), ev("b", "reg"), ev("b", "inc"), ev("c", "reg"),
             ev("a", "reg")]
    runs = _runs(batch)
    assert [[(e.subject, e.type) for e, _ in run] for run in runs] == [
        [("a", "reg"), ("b", "reg"), ("c", "reg")],
        [("a", "inc"), ("b", "inc")],
        [("a", "reg")],
    ]
