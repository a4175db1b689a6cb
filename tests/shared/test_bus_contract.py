"""One contract, two buses: KafkaBus (real broker) and EmbeddedBus (SQLite log)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from shared.aio import woken
from shared.bus import Bus
from shared.bus.base import Outgoing, Record
from shared.bus.embedded import EmbeddedBus
from shared.bus.kafka import KafkaBus
from tests.support.servers import new_prefix
from tests.support.tasks import stops_when_cancelled

TOPIC = "fupin.test.contract"


@pytest.fixture
async def make_bus(backend, tmp_path, request):
    """Each call is a new connection to the same log, as another process would have."""
    prefix = new_prefix("c")
    servers = request.getfixturevalue("servers") if backend == "real" else None
    made: list[Bus] = []

    async def make() -> Bus:
        if servers is not None:
            bus: Bus = KafkaBus(servers.kafka_bootstrap, partitions=3, prefix=prefix)
        else:
            bus = EmbeddedBus(tmp_path / "events.db")
        await bus.start()
        await bus.ensure_topics([TOPIC])
        made.append(bus)
        return bus

    yield make
    for bus in made:
        await bus.stop()


async def _drain(consumer, want: int, *, timeout: float = 30.0) -> list[Record]:
    got: list[Record] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(got) < want and loop.time() < deadline:
        got.extend(await consumer.poll(max_records=500, timeout=0.5))
    return got


def _msgs(n_keys: int, per_key: int) -> list[Outgoing]:
    return [Outgoing(TOPIC, f"key-{k}", f"{k}:{i}".encode())
            for i in range(per_key) for k in range(n_keys)]


async def _stop_all(*things) -> None:
    for t in things:
        await t.stop()


class TestBusContract:
    async def test_per_key_order(self, make_bus):
        bus = await make_bus()
        await bus.publish(_msgs(5, 40))
        consumer = bus.consumer(group="g-order", topics=[TOPIC])
        await consumer.start()
        got = await _drain(consumer, 200)
        await _stop_all(consumer, bus)
        assert len(got) == 200
        for k in range(5):
            seq = [int(r.value.decode().split(":")[1]) for r in got if r.key == f"key-{k}"]
            assert seq == list(range(40))

    async def test_uncommitted_records_are_redelivered(self, make_bus):
        bus = await make_bus()
        await bus.publish(_msgs(2, 5))
        first = bus.consumer(group="g-redeliver", topics=[TOPIC])
        await first.start()
        handled = await _drain(first, 10)
        assert len(handled) == 10
        await first.stop()  # "dies" after handling, before committing

        other = await make_bus()
        second = other.consumer(group="g-redeliver", topics=[TOPIC])
        await second.start()
        again = await _drain(second, 10)
        assert sorted(r.value for r in again) == sorted(r.value for r in handled)
        positions = {}
        for r in again:
            positions[(r.topic, r.partition)] = max(positions.get((r.topic, r.partition), 0),
                                                    r.offset + 1)
        await second.commit(positions)
        await second.stop()

        third_bus = await make_bus()
        third = third_bus.consumer(group="g-redeliver", topics=[TOPIC])
        await third.start()
        assert await _drain(third, 1, timeout=3) == []
        await _stop_all(third, third_bus, other, bus)

    async def test_groups_are_independent(self, make_bus):
        bus = await make_bus()
        await bus.publish(_msgs(1, 3))
        a = bus.consumer(group="g-a", topics=[TOPIC])
        b = bus.consumer(group="g-b", topics=[TOPIC])
        await a.start()
        await b.start()
        assert len(await _drain(a, 3)) == 3
        assert len(await _drain(b, 3)) == 3
        await _stop_all(a, b, bus)

    async def test_lag_counts_uncommitted(self, make_bus):
        bus = await make_bus()
        await bus.publish(_msgs(1, 4))
        consumer = bus.consumer(group="g-lag", topics=[TOPIC])
        await consumer.start()
        got = await _drain(consumer, 4)
        await consumer.commit({(got[0].topic, got[0].partition): got[1].offset + 1})
        lag = await consumer.lag()
        assert sum(lag.values()) == 2
        await _stop_all(consumer, bus)

    async def test_read_topic_from_start(self, make_bus):
        bus = await make_bus()
        await bus.publish(_msgs(3, 2))
        records = await bus.read_topic(TOPIC)
        assert sorted(r.value for r in records) == sorted(m.value for m in _msgs(3, 2))
        await bus.stop()

    async def test_scan_topic_in_bounded_chunks_up_to_the_end_at_its_start(self, make_bus):
        bus = await make_bus()
        sent = _msgs(7, 30)  # 210 records over 3 partitions (Kafka)
        await bus.publish(sent)
        seen: list[Record] = []
        sizes: list[int] = []
        async with contextlib.aclosing(bus.scan_topic(TOPIC, chunk=25)) as chunks:
            async for records in chunks:
                sizes.append(len(records))
                seen.extend(records)
                if len(sizes) == 1:  # published during the scan: after its end
                    await bus.publish([Outgoing(TOPIC, "late", b"late")])
        assert max(sizes) <= 25 and len(sizes) >= 210 // 25
        assert sorted(r.value for r in seen) == sorted(m.value for m in sent)
        for k in range(7):  # per key (one partition each), in publication order
            assert [r.value for r in seen if r.key == f"key-{k}"] == \
                [m.value for m in sent if m.key == f"key-{k}"]
        assert len(await bus.read_topic(TOPIC, limit=1_000)) == 211
        assert len(await bus.read_topic(TOPIC, limit=5)) == 5
        await bus.stop()

    async def test_tail_topic_keeps_the_last_records(self, make_bus):
        bus = await make_bus()
        await bus.publish([Outgoing(TOPIC, "one-key", f"{i}".encode()) for i in range(1_500)])
        last = await bus.tail_topic(TOPIC, 3)
        assert [r.value for r in last] == [b"1497", b"1498", b"1499"]
        assert await bus.tail_topic(TOPIC, 0) == []
        assert await bus.tail_topic("fupin.test.empty", 3) == []
        assert [r.value for r in await bus.tail_topic(TOPIC, 2_000)] == \
            [f"{i}".encode() for i in range(1_500)]  # more asked than there are
        await bus.stop()

    async def test_a_scan_of_the_last_records_starts_near_the_end(self, make_bus):
        bus = await make_bus()
        await bus.publish(_msgs(7, 30))  # 210 records over 3 partitions (Kafka)
        every = await bus.read_topic(TOPIC, limit=1_000)
        async with contextlib.aclosing(bus.scan_topic(TOPIC, last=4)) as chunks:
            tail = [r for records in [c async for c in chunks] for r in records]
        for p in {r.partition for r in every}:  # only the newest 4 of each partition read
            assert [r.offset for r in tail if r.partition == p] == \
                sorted(r.offset for r in every if r.partition == p)[-4:]
        assert len(tail) == 4 * len({r.partition for r in every})
        await bus.stop()


async def test_a_wait_cancelled_as_it_is_woken_is_cancelled():
    # Relays and embedded polls wait with `woken`; shutdown cancels them, often in the very
    # turn of the loop in which a commit or a record wakes them. The cancellation must win.
    event = asyncio.Event()
    waiting = asyncio.create_task(woken(event, 30))
    await asyncio.sleep(0.01)
    event.set()
    assert await stops_when_cancelled(waiting, timeout=5)


async def test_woken_tells_a_wake_from_a_timeout():
    event = asyncio.Event()
    assert await woken(event, 0.01) is False
    event.set()
    assert await woken(event, 5) is True


# What an AIOKafkaConsumer runs once started, until it is stopped.
_CLIENT_ROUTINES = {"Fetcher._fetch_requests_routine", "GroupCoordinator._coordination_routine",
                    "GroupCoordinator._commit_refresh_routine",
                    "GroupCoordinator._heartbeat_routine", "AIOKafkaClient._md_synchronizer"}


async def test_a_kafka_consumer_whose_start_is_cancelled_leaves_no_client_running(servers):
    # An app shut down while its consumers start (short-lived apps, tests, a deploy that is
    # rolled back) cancels KafkaConsumer.start midway, at whatever step it has reached.
    bus = KafkaBus(servers.kafka_bootstrap, partitions=1, prefix=new_prefix("c"))
    await bus.ensure_topics([TOPIC])
    try:
        for delay in (0.001, 0.002, 0.003, 0.005, 0.008, 0.012, 0.02):
            consumer = bus.consumer(group="g-start", topics=[TOPIC])
            starting = asyncio.create_task(consumer.start())
            await asyncio.sleep(delay)
            starting.cancel()
            await asyncio.wait([starting], timeout=10)
            if not starting.cancelled():  # it had started: stopping it is the caller's part
                await consumer.stop()
            await asyncio.sleep(0.05)
            left = {t.get_coro().__qualname__ for t in asyncio.all_tasks() if not t.done()}
            assert not left & _CLIENT_ROUTINES, delay
    finally:
        await bus.stop()


async def test_a_publish_cancelled_while_the_producer_starts_leaves_no_client_running(servers):
    # The relay's first publish starts the producer; shutdown may cancel it midway.
    for delay in (0.001, 0.002, 0.003, 0.005, 0.008, 0.012, 0.02):
        bus = KafkaBus(servers.kafka_bootstrap, partitions=1, prefix=new_prefix("c"))
        publishing = asyncio.create_task(bus.publish(_msgs(1, 1)))
        await asyncio.sleep(delay)
        publishing.cancel()
        await asyncio.wait([publishing], timeout=10)
        await bus.stop()
        await asyncio.sleep(0.05)
        left = {t.get_coro().__qualname__ for t in asyncio.all_tasks() if not t.done()}
        assert not left & {"AIOKafkaClient._md_synchronizer", "Sender._sender_routine"}, delay
