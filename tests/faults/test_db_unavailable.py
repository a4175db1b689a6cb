"""Monitoring's database refuses connections for 10 s (`ALTER DATABASE ... ALLOW_CONNECTIONS
false` and its sessions terminated - what maintenance or a failover looks like to a client)
while `fupin serve monitoring` works through a backlog of registry events: its consumers must
neither stop nor dead-letter good events because their database was away; when it is back,
every event is handled exactly once per group. (asyncpg reports this refusal with its own
exception, neither OSError nor a SQLAlchemy DBAPIError.)
"""

from __future__ import annotations

import asyncio
import time

import asyncpg
from aiokafka import AIOKafkaProducer

from shared.events.envelope import CloudEvent
from shared.events.registry import IncomeRecorded
from shared.events.topics import HOUSEHOLDS, dead_letter_topic
from tests.faults.conftest import (
    FAULT_BOOTSTRAP,
    PG_ADMIN_DSN,
    Db,
    ServiceProcess,
    create_database,
    delete_topics,
    drop_database,
    new_prefix,
    service_env,
    topic_counts,
    write_report,
)

EVENTS = 12_000
OUTAGE_SECONDS = 10
GROUPS = ("monitoring.registry", "monitoring.rules")


async def test_database_refusing_connections_under_backlog_parks_nothing(fault_servers, tmp_path):
    prefix = new_prefix()
    name = await create_database("backlog")
    db = Db(name)
    proc = ServiceProcess("monitoring", service_env(prefix, {"monitoring": name}), tmp_path)
    figures: dict = {"events": EVENTS}
    try:
        proc.start()
        await proc.wait_up()
        deadline = time.monotonic() + 60
        while not {dead_letter_topic(g) for g in GROUPS} <= set(await topic_counts(prefix)):
            assert time.monotonic() < deadline, "consumers did not start"
            await asyncio.sleep(0.3)
        await asyncio.sleep(3)

        events = [CloudEvent.of(IncomeRecorded(
            household_id=f"h-{i}", region_code="430902100201", year=2025,
            net_income_fen=1_000_000 + i, per_capita_net_income_fen=500_000 + i,
            member_count=2), service="registry", subject=f"h-{i}",
            region_code="430902100201") for i in range(EVENTS)]
        producer = AIOKafkaProducer(bootstrap_servers=FAULT_BOOTSTRAP, acks="all",
                                    enable_idempotence=True, linger_ms=20)
        await producer.start()
        try:
            futures = [await producer.send(prefix + HOUSEHOLDS, e.to_bytes(),
                                           key=e.subject.encode()) for e in events]
            await asyncio.gather(*futures)
        finally:
            await producer.stop()

        # Restart PostgreSQL once the consumers are busy with the backlog.
        deadline = time.monotonic() + 60
        while (handled := await db.value("SELECT count(*) FROM inbox")) < 500:
            assert time.monotonic() < deadline, "the backlog is not being consumed"
            await asyncio.sleep(0.1)
        figures["handled_before_outage"] = handled
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = $1", name)
            await asyncio.sleep(OUTAGE_SECONDS)
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        finally:
            await admin.close()
        t0 = time.monotonic()

        async def state() -> dict:
            out = {}
            for g in GROUPS:
                out[g] = await db.value("SELECT count(*) FROM inbox WHERE consumer_group = $1",
                                        g)
            out["dead_letters"] = await db.value("SELECT count(*) FROM dead_letters")
            out["income_view"] = await db.value("SELECT count(*) FROM income_view")
            return out

        deadline = time.monotonic() + 120
        while True:
            now = await state()
            if all(now[g] >= EVENTS for g in GROUPS) or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
        topics = await topic_counts(prefix)
        figures.update(now, outage_seconds=OUTAGE_SECONDS,
                       seconds_after_outage=round(time.monotonic() - t0, 1),
                       dlq_records={g: topics.get(dead_letter_topic(g)) for g in GROUPS})
        write_report("db_unavailable_under_backlog", figures)
        assert now["dead_letters"] == 0, (figures, proc.log_tail())
        assert all(now[g] == EVENTS for g in GROUPS), (figures, proc.log_tail())
        assert now["income_view"] == EVENTS, figures
        assert all(n == 0 for n in figures["dlq_records"].values()), figures
    finally:
        proc.stop()
        await drop_database(name)
        try:
            await delete_topics(prefix)
        except Exception:
            pass
