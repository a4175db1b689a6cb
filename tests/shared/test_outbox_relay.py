"""The relay's turns (several batches in one transaction holding the leader lock) and the
statements compiled once (`shared.db.compiled_once`), on both runtimes."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
import sqlalchemy as sa

from shared.bus.base import BusUnavailable
from shared.db import compiled_once, fixed_insert, upsert_statement
from shared.events.envelope import CloudEvent
from shared.events.registry import HouseholdExited
from shared.events.topics import HOUSEHOLDS
from shared.outbox import OutboxRelay
from tests.support.db import count, rows
from tests.support.tasks import stops_when_cancelled


@pytest.fixture
async def monitoring(platform):
    await platform.start("monitoring", background=False)
    return platform


def _event(household_id: str, year: int) -> CloudEvent:
    return CloudEvent.of(HouseholdExited(household_id=household_id, region_code="430902100201",
                                         year=year),
                         service="registry", subject=household_id, region_code="430902100201")


async def _emit(rt, events: list[CloudEvent]) -> None:
    async with rt.sessionmaker() as session:
        tx = rt.new_tx(session, actor="test")
        tx.events += events
        await tx.flush()
        await session.commit()


class _FailingBus:
    """Delegates to a bus, but refuses the `fail_on`-th publish call (1-based)."""

    def __init__(self, bus, fail_on: int) -> None:
        self.bus, self.fail_on, self.calls = bus, fail_on, 0

    async def publish(self, messages) -> None:
        self.calls += 1
        if self.calls == self.fail_on:
            raise BusUnavailable("refused for the test")
        await self.bus.publish(messages)


class TestRelayTurns:
    async def test_a_turn_publishes_several_batches_in_outbox_order(self, monitoring):
        rt = monitoring.runtime("monitoring")
        events = [_event("h-order", year) for year in range(2000, 2007)]  # one key: one partition
        await _emit(rt, events)
        relay = OutboxRelay(service="monitoring", engine=rt.engine, table=rt.infra.outbox,
                            bus=rt.bus, batch_size=3)
        assert await relay.publish_once() == 3  # one batch by default
        assert await count(rt, "outbox", "WHERE published_at IS NULL") == 4
        assert await relay.publish_once(batches=10) == 4  # 3 + 1: the short batch ends it
        assert await count(rt, "outbox", "WHERE published_at IS NULL") == 0
        assert await relay.publish_once(batches=10) == 0
        on_topic = await rt.bus.read_topic(HOUSEHOLDS)
        assert [json.loads(r.value)["id"] for r in on_topic] == [e.id for e in events]

    async def test_batches_acknowledged_before_a_failure_stay_published(self, monitoring):
        rt = monitoring.runtime("monitoring")
        events = [_event(f"h-{k}", 2019) for k in range(5)]
        await _emit(rt, events)
        failing = _FailingBus(rt.bus, fail_on=2)
        relay = OutboxRelay(service="monitoring", engine=rt.engine, table=rt.infra.outbox,
                            bus=failing, batch_size=2)
        with pytest.raises(BusUnavailable):
            await relay.publish_once(batches=10)
        # The first batch was acknowledged: marked (committed), not sent again.
        published = await rows(rt, "SELECT event_id FROM outbox WHERE published_at IS NOT NULL "
                                   "ORDER BY id")
        assert [r.event_id for r in published] == [e.id for e in events[:2]]
        assert await relay.publish_once(batches=10) == 3
        on_topic = await rt.bus.read_topic(HOUSEHOLDS)
        assert sorted(json.loads(r.value)["id"] for r in on_topic) == sorted(e.id for e in events)


    async def test_a_relay_woken_as_it_is_cancelled_stops(self, monitoring):
        # Shutdown cancels the relay right after the request that woke it, often in the same
        # turn of the loop: the relay must stop, not go round for another idle wait.
        rt = monitoring.runtime("monitoring")
        relay = OutboxRelay(service="monitoring", engine=rt.engine, table=rt.infra.outbox,
                            bus=rt.bus, idle_seconds=30)
        running = asyncio.create_task(relay.run_forever())
        await asyncio.sleep(0.3)  # nothing to publish: waiting to be woken
        relay.wake()
        assert await stops_when_cancelled(running)

    async def test_a_relay_stops_when_its_cancellation_comes_out_as_another_error(
            self, monitoring):
        # A cancellation that lands inside a driver call can surface as the driver's own
        # error; the relay, which survives any error, must still take it as its shutdown.
        rt = monitoring.runtime("monitoring")
        await _emit(rt, [_event("h-cancel", 2020)])
        publishing = asyncio.Event()

        class _ConvertingBus:
            async def publish(self, messages) -> None:
                publishing.set()
                try:
                    await asyncio.Event().wait()
                except asyncio.CancelledError:
                    raise RuntimeError("connection closed while cancelled") from None

        relay = OutboxRelay(service="monitoring", engine=rt.engine, table=rt.infra.outbox,
                            bus=_ConvertingBus(), idle_seconds=30)
        running = asyncio.create_task(relay.run_forever())
        await asyncio.wait_for(publishing.wait(), timeout=10)
        assert await stops_when_cancelled(running)


class TestCompiledOnce:
    async def test_cached_statements_keep_their_own_sql(self, monitoring):
        """Two statements compiled once on the same engine, executed alternately: each keeps
        its table, conflict target and updated columns."""
        rt = monitoring.runtime("monitoring")
        from services.monitoring.db.tables import HouseholdView, IncomeView

        hv, iv = HouseholdView.__table__, IncomeView.__table__
        now = dt.datetime.now(dt.UTC)
        households = upsert_statement(rt.engine.dialect.name, hv, ("household_id",),
                                      ("status", "updated_at"))
        incomes = upsert_statement(rt.engine.dialect.name, iv, ("household_id", "year"),
                                   ("net_income_fen",))
        for round_ in range(3):
            async with rt.sessionmaker() as session:
                await session.execute(households, [
                    {"household_id": f"h-{k}", "region_code": "430902100201",
                     "status": f"s{round_}", "attribute": "general", "member_count": 2,
                     "updated_at": now} for k in range(3)])
                await session.execute(incomes, [
                    {"household_id": "h-0", "year": 2024, "net_income_fen": 100 * round_,
                     "per_capita_net_income_fen": 50, "member_count": 2, "recorded_at": now}])
                await session.commit()
        got = await rows(rt, "SELECT household_id, status FROM household_view ORDER BY 1")
        assert [(r.household_id, r.status) for r in got] == [(f"h-{k}", "s2") for k in range(3)]
        got = await rows(rt, "SELECT net_income_fen FROM income_view")
        assert [r.net_income_fen for r in got] == [200]

    def test_keys_are_per_statement_object(self):
        from services.monitoring.db.tables import HouseholdView

        hv = HouseholdView.__table__
        for dialect in ("postgresql", "sqlite"):
            a = upsert_statement(dialect, hv, ("household_id",), ("status",))
            b = upsert_statement(dialect, hv, ("household_id",), ("attribute",))
            assert a is upsert_statement(dialect, hv, ("household_id",), ("status",))
            key_a, key_b = a._generate_cache_key(), b._generate_cache_key()
            assert key_a is not None and key_b is not None and key_a.key != key_b.key
            # A statement derived from a compiled-once one is a copy: not cached (as the
            # dialect's own INSERT), so it cannot reuse the other's compiled SQL.
            assert a.returning(hv.c.status)._generate_cache_key() is None
            assert fixed_insert(dialect, hv).on_conflict_do_nothing()._generate_cache_key() is None

    def test_only_fixed_inserts_are_accepted(self):
        from services.monitoring.db.tables import HouseholdView

        with pytest.raises(TypeError):
            compiled_once(sa.insert(HouseholdView.__table__))
