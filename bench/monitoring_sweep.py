"""Benchmark of the monitoring service on the real servers (PostgreSQL 127.0.0.1:25432 and
Kafka 127.0.0.1:29092, user fupin/fupin).

1. Sweep: 300,000 households (household_view + income_view filled by COPY), three monitoring
   lines by region prefix and a working-day rule; time of `sweeps.sweep` (one
   INSERT ... SELECT, then one multi-row outbox insert, then commit) for a province, and of a
   second, idempotent sweep. Goal: ≤ 10 s.
2. Registry → monitoring events over Kafka: registry payloads (household.registered and
   income_recorded) published to a fresh topic prefix and handled by the monitoring app's
   own consumers (projection and rules groups, inbox, one transaction per event):
   throughput in a burst, and end-to-end latency (event time → inbox commit) p50/p99 at a
   paced rate.

Creates and drops its own databases; appends a dated row to docs/benchmarks.md.
Run: .venv/bin/python bench/monitoring_sweep.py [--households 300000] [--events 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.monitoring.domain import sweeps  # noqa: E402
from services.monitoring.service import definition  # noqa: E402
from shared.runtime import open_runtime  # noqa: E402
from shared.settings import Settings  # noqa: E402

ADMIN = "postgresql://fupin:fupin@127.0.0.1:25432/postgres"
URL = "postgresql+asyncpg://fupin:fupin@127.0.0.1:25432/{db}"
KAFKA = "127.0.0.1:29092"
YEAR = 2024
LINES = {"": 600_000, "43": 750_000, "430905": 805_000}  # fen
BELOW_SHARE = 0.05


async def create_db() -> str:
    name = f"bench_monitoring_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(ADMIN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def drop_db(name: str) -> None:
    conn = await asyncpg.connect(ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def villages() -> list[str]:
    return [f"4309{c:02d}{100 + t:03d}{201 + v:03d}" for c in range(1, 11) for t in range(10)
            for v in range(30)]


def line_of(region: str) -> int:
    return LINES[max((p for p in LINES if region.startswith(p)), key=len)]


async def fill(db: str, households: int) -> int:
    """COPY the projection; return how many households lie below their line."""
    rng, now = random.Random(7), dt.datetime.now(dt.UTC)
    codes, hv, iv, below = villages(), [], [], 0
    for i in range(households):
        hid, region = str(uuid.UUID(int=rng.getrandbits(128))), codes[i % len(codes)]
        hv.append((hid, region, "exited", "general", 3, now))
        low = rng.random() < BELOW_SHARE
        line = line_of(region)
        per_capita = rng.randrange(300_000, line) if low else rng.randrange(line + 100,
                                                                            4_000_000)
        below += low
        iv.append((hid, YEAR, per_capita * 3, per_capita, 3, now))
        if i % 2:
            iv.append((hid, YEAR - 1, per_capita * 3, per_capita, 3, now))
    conn = await asyncpg.connect(f"postgresql://fupin:fupin@127.0.0.1:25432/{db}")
    try:
        await conn.copy_records_to_table(
            "household_view", records=hv, columns=["household_id", "region_code", "status",
                                                   "attribute", "member_count", "updated_at"])
        await conn.copy_records_to_table(
            "income_view", records=iv, columns=["household_id", "year", "net_income_fen",
                                                "per_capita_net_income_fen", "member_count",
                                                "recorded_at"])
        await conn.executemany(
            "INSERT INTO monitoring_lines (year, region_code, amount_fen, version, updated_at) "
            "VALUES ($1, $2, $3, 1, now())", [(YEAR, p, a) for p, a in LINES.items()])
        await conn.execute(
            "INSERT INTO monitoring_rules VALUES ($1, '430903', 20, true, 6, false, 5, 1, now())",
            dt.date.today().year)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return below


async def in_tx(runtime, fn, **kwargs):
    async with runtime.sessionmaker() as session:
        tx = runtime.new_tx(session, actor="bench")
        result = await fn(tx, **kwargs)
        await tx.flush()
        await session.commit()
        return result


async def bench_sweep(households: int) -> dict:
    db = await create_db()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(monitoring_database_url=URL.format(db=db), data_dir=Path(tmp))
            async with open_runtime(definition, settings) as runtime:
                started = time.perf_counter()
                below = await fill(db, households)
                fill_s = time.perf_counter() - started
                started = time.perf_counter()
                first = await in_tx(runtime, sweeps.sweep, year=YEAR, region="43")
                first_s = time.perf_counter() - started
                started = time.perf_counter()
                second = await in_tx(runtime, sweeps.sweep, year=YEAR, region="43")
                second_s = time.perf_counter() - started
                async with runtime.engine.connect() as conn:
                    outbox = await conn.scalar(sa.text("SELECT count(*) FROM outbox"))
        assert first.alerts_raised == below == outbox, (first, below, outbox)
        assert second.alerts_raised == 0
        return {"households": first.evaluated, "raised": first.alerts_raised,
                "fill_s": fill_s, "first_s": first_s, "second_s": second_s}
    finally:
        await drop_db(db)


def _registry_events(n_households: int, rng: random.Random):
    from shared.events.envelope import CloudEvent
    from shared.events.registry import HouseholdRegistered, IncomeRecorded, MemberFacts

    for i in range(n_households):
        hid, region = str(uuid.uuid4()), villages()[i % 3000]
        member = MemberFacts(member_id=str(uuid.uuid4()), relation="head", labor_ability="normal",
                             health="healthy", schooling="none", sex="male", birth_year=1970,
                             id_hash=uuid.uuid4().hex)
        reg = HouseholdRegistered(household_id=hid, household_no=f"{region}{i:05d}",
                                  region_code=region, status="exited", attribute="general",
                                  identified_year=2016, primary_cause="illness",
                                  secondary_causes=[], members=[member])
        per_capita = rng.randrange(300_000, 740_000) if rng.random() < 0.1 else 2_000_000
        inc = IncomeRecorded(household_id=hid, region_code=region, year=YEAR,
                             net_income_fen=per_capita, per_capita_net_income_fen=per_capita,
                             member_count=1)
        for payload in (reg, inc):
            yield CloudEvent.of(payload, service="registry", subject=hid, region_code=region)


async def _publish(bus, events, sent: dict) -> None:
    from shared.bus.base import Outgoing
    from shared.events.topics import HOUSEHOLDS

    now = dt.datetime.now(dt.UTC)  # the moment the registry's relay would publish them
    for e in events:
        sent[e.id] = now
    await bus.publish([Outgoing(HOUSEHOLDS, e.subject, e.to_bytes()) for e in events])


async def _handled(runtime, group: str) -> int:
    async with runtime.engine.connect() as conn:
        return int(await conn.scalar(sa.text(
            "SELECT count(*) FROM inbox WHERE consumer_group = :g"), {"g": group}))


async def _wait(runtime, group: str, n: int, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while await _handled(runtime, group) < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{group}: {await _handled(runtime, group)}/{n}")
        await asyncio.sleep(0.2)


async def _latencies(runtime, group: str, sent: dict) -> list[float]:
    async with runtime.engine.connect() as conn:
        found = (await conn.execute(sa.text(
            "SELECT event_id, processed_at FROM inbox WHERE consumer_group = :g"),
            {"g": group})).all()
    return [(r.processed_at - sent[r.event_id]).total_seconds() * 1000 for r in found
            if r.event_id in sent]


async def bench_events(n_events: int, paced: int, rate: float) -> dict:
    from shared.app import create_app
    from shared.bus import bus_from_settings

    db, rng = await create_db(), random.Random(11)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(env="test", bus="kafka", kafka_bootstrap=KAFKA,
                                topic_prefix=f"bench{uuid.uuid4().hex[:8]}.",
                                monitoring_database_url=URL.format(db=db), data_dir=Path(tmp),
                                relay_idle_seconds=0.05)
            app = create_app([definition], settings=settings)
            async with app.router.lifespan_context(app):
                runtime = app.state.services["monitoring"]
                async with runtime.engine.begin() as conn:
                    await conn.execute(sa.text(
                        "INSERT INTO monitoring_lines VALUES (:y, '', 750000, 1, now())"),
                        {"y": YEAR})
                bus = bus_from_settings(settings)
                await bus.start()
                try:
                    burst = list(_registry_events(n_events // 2, rng))
                    sent: dict = {}
                    started = time.perf_counter()
                    for k in range(0, len(burst), 1000):
                        await _publish(bus, burst[k:k + 1000], sent)
                    await _wait(runtime, "monitoring.registry", len(burst))
                    projection_s = time.perf_counter() - started
                    await _wait(runtime, "monitoring.rules", len(burst) // 2)
                    both_s = time.perf_counter() - started
                    paced_events, paced_sent = list(_registry_events(paced // 2, rng)), {}
                    for e in paced_events:
                        await _publish(bus, [e], paced_sent)
                        await asyncio.sleep(1 / rate)
                    await _wait(runtime, "monitoring.registry", len(burst) + len(paced_events))
                    lat = sorted(await _latencies(runtime, "monitoring.registry", paced_sent))
                finally:
                    await bus.stop()
        return {"events": len(burst), "projection_rate": len(burst) / projection_s,
                "all_rate": (len(burst) + len(burst) // 2) / both_s, "paced": len(lat),
                "rate": rate, "p50": statistics.median(lat),
                "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))]}
    finally:
        await drop_db(db)


def record(command: str, sweep: dict, events: dict | None) -> str:
    figures = (f"sweep of {sweep['households']:,} households (region 43, year {YEAR}): "
               f"{sweep['first_s']:.2f} s raising {sweep['raised']:,} alerts (+ outbox rows); "
               f"repeat sweep {sweep['second_s']:.2f} s, 0 raised; COPY fill "
               f"{sweep['fill_s']:.1f} s")
    if events:
        figures += (f"; Kafka registry→monitoring: burst of {events['events']:,} events "
                    f"projected at {events['projection_rate']:,.0f} events/s, "
                    f"{events['all_rate']:,.0f} handlings/s counting the rules group; "
                    f"latency at {events['rate']:.0f} events/s ({events['paced']} events): "
                    f"p50 {events['p50']:.0f} ms, p99 {events['p99']:.0f} ms")
    ratio = f"sweep {sweep['first_s'] / 10:.0%} of the 10 s goal"
    try:
        from bench.common import append_result

        append_result("monitoring sweep and events", command, figures, ratio)
    except ImportError:
        path = ROOT / "docs" / "benchmarks.md"
        with path.open("a", encoding="utf-8") as out:
            out.write(f"| {dt.date.today()} | monitoring sweep and events | {_machine()} | "
                      f"`{command}` | {figures} | {ratio} |\n")
    return figures


def _machine() -> str:
    import os

    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?")
    mem = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), "0")
    return f"{os.cpu_count()} CPU, {int(mem) / 1048576:.1f} GiB, {cpu}"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=300_000)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--paced", type=int, default=1_000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    sweep = await bench_sweep(args.households)
    print(json.dumps(sweep, indent=1), flush=True)
    events = await bench_events(args.events, args.paced, args.rate) if args.events else None
    print(json.dumps(events, indent=1), flush=True)
    if not args.no_record:
        command = "python bench/monitoring_sweep.py " + " ".join(sys.argv[1:])
        print(record(command.strip(), sweep, events))


if __name__ == "__main__":
    asyncio.run(main())
