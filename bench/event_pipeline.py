"""Benchmark of the registry → monitoring event pipeline on the real servers (issue 7, item 3).

    .venv/bin/python bench/event_pipeline.py [--rates 1000,250 --seconds 20 --burst 30000]

Path measured: a registry transaction writes its events into the registry's own outbox
(through `Tx.emit` + `Tx.flush`, the code every registry domain function ends with; the
events are real `household.registered` / `income_recorded` payloads, two per household) and
commits → the registry's `OutboxRelay` (same batch size and idle time as `fupin serve
registry`, woken after each commit as the request wrapper does) → Kafka (fresh topic
prefix, 3 partitions) → a separate `fupin serve monitoring` process whose two consumer groups
(projection `monitoring.registry` and rules `monitoring.rules`) write household_view /
member_view / income_view, alerts, and their inbox rows in one transaction per polled batch.

Registry writes are driven by inserting outbox rows in bulk, NOT through
`register_household` (which would cost encryption and checks per household and limit the
writer long before the pipeline: the import benchmark measures that part).

Latency: the writer notes the wall clock right after each registry COMMIT returns; an
observer polls monitoring's inbox (`event_id = ANY(pending)`, every 5 ms) - the inbox row
commits in the same transaction as the projection rows, so the moment it is visible is the
moment the effect is visible. Error: + 0..5 ms poll interval + one query. The same run
splits the latency at the relay (outbox `published_at`, set after Kafka acknowledged), and
notes the CPU time the monitoring process used per 1,000 events (/proc; on this shared
machine the rates follow the CPU other work leaves, the CPU per event does much less).

Limit: raw aiokafka on the same broker, same producer settings as KafkaBus (idempotent,
acks=all, linger 2 ms), same message sizes, 3 partitions: produce→consume events/s with
no database at all.

Creates and drops its own databases and topics; appends a row to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    KAFKA,
    PG_DSN,
    append_result,
    create_database,
    delete_topics,
    drop_database,
    load,
    percentile,
    sa_url,
)

YEAR = 2024
PROJECTION, RULES = "monitoring.registry", "monitoring.rules"


def villages() -> list[str]:
    return [f"4309{c:02d}{100 + t:03d}{201 + v:03d}" for c in range(1, 11) for t in range(10)
            for v in range(30)]


def household_events(n_households: int, rng: random.Random):
    """(payload, subject, region) pairs: registered then income_recorded, per household."""
    from shared.events.registry import HouseholdRegistered, IncomeRecorded, MemberFacts

    codes = villages()
    for i in range(n_households):
        hid, region = str(uuid.uuid4()), codes[i % len(codes)]
        members = [MemberFacts(member_id=str(uuid.uuid4()), relation=rel,
                               labor_ability="normal", health="healthy", schooling="none",
                               sex="male", birth_year=1970 + k, id_hash=uuid.uuid4().hex * 2)
                   for k, rel in enumerate(("head", "spouse", "child")[:rng.randint(1, 3)])]
        per_capita = rng.randrange(300_000, 740_000) if rng.random() < 0.1 else 2_000_000
        yield (HouseholdRegistered(household_id=hid, household_no=f"{region}{i:06d}",
                                   region_code=region, status="exited", attribute="general",
                                   identified_year=2016, primary_cause="illness",
                                   secondary_causes=[], members=members), hid, region)
        yield (IncomeRecorded(household_id=hid, region_code=region, year=YEAR,
                              net_income_fen=per_capita * len(members),
                              per_capita_net_income_fen=per_capita,
                              member_count=len(members)), hid, region)


class Pipeline:
    """The registry side in this process, monitoring in a `fupin serve` child process."""

    def __init__(self, prefix: str, registry_db: str, monitoring_db: str, port: int) -> None:
        self.prefix, self.registry_db, self.monitoring_db = prefix, registry_db, monitoring_db
        self.port = port
        self.child: subprocess.Popen | None = None
        self.committed: dict[str, float] = {}   # event id -> wall clock after COMMIT
        self.rules_ids: set[str] = set()        # income events (the rules group acts on them)
        self.pending: dict[str, set[str]] | None = None  # watched ids not yet seen, per group

    def env(self) -> dict[str, str]:
        return {**os.environ, "FUPIN_ENV": "test", "FUPIN_BUS": "kafka",
                "FUPIN_KAFKA_BOOTSTRAP": KAFKA, "FUPIN_TOPIC_PREFIX": self.prefix,
                "FUPIN_MONITORING_DATABASE_URL": sa_url(self.monitoring_db),
                "FUPIN_LOG_LEVEL": "WARNING", "FUPIN_DATA_DIR": tempfile.mkdtemp()}

    async def start_monitoring(self) -> None:
        command = [str(ROOT / ".venv" / "bin" / "fupin"), "serve", "monitoring", "--host",
                   "127.0.0.1", "--port", str(self.port)]
        if profile := os.environ.get("FUPIN_BENCH_PROFILE"):  # cProfile the monitoring side
            command = [sys.executable, profile, *command[1:]]
        self.child = subprocess.Popen(command, env=self.env(), cwd=ROOT,
                                      stdout=subprocess.DEVNULL)
        import httpx

        async with httpx.AsyncClient() as client:
            for _ in range(300):
                try:
                    if (await client.get(f"http://127.0.0.1:{self.port}/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError("monitoring did not start")
        conn = await asyncpg.connect(f"{PG_DSN}/{self.monitoring_db}")
        try:
            await conn.execute("INSERT INTO monitoring_lines VALUES ($1, '', 750000, 1, now())",
                               YEAR)
        finally:
            await conn.close()

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the monitoring process has used so far."""
        if self.child is None:
            return 0.0
        fields = Path(f"/proc/{self.child.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop_monitoring(self) -> None:
        if self.child is not None and os.environ.get("FUPIN_BENCH_PROFILE"):
            import signal

            self.child.send_signal(signal.SIGUSR1)
            time.sleep(3)
        if self.child is not None:
            self.child.terminate()
            try:
                self.child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.child.kill()
            self.child = None

    async def write(self, runtime, relay, batch) -> None:
        """One registry transaction emitting `batch`, then the relay is woken."""
        async with runtime.sessionmaker() as session:
            tx = runtime.new_tx(session, actor="bench")
            events = [tx.emit(p, subject=s, region_code=r) for p, s, r in batch]
            await tx.flush()
            await session.commit()
        now = time.time()
        for e in events:
            self.committed[e.id] = now
            if e.type.endswith("income_recorded"):
                self.rules_ids.add(e.id)
            if self.pending is not None:
                self.pending[PROJECTION].add(e.id)
                if e.type.endswith("income_recorded"):
                    self.pending[RULES].add(e.id)
        relay.wake()


async def count_inbox(conn, group: str) -> int:
    return await conn.fetchval("SELECT count(*) FROM inbox WHERE consumer_group = $1", group)


async def wait_counts(conn, want: dict[str, int], timeout: float) -> dict[str, float]:
    """Poll until each group's inbox holds its count; when each got there (wall clock)."""
    done: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(done) < len(want):
        for group, n in want.items():
            if group not in done and await count_inbox(conn, group) >= n:
                done[group] = time.time()
        if time.monotonic() > deadline:
            got = {g: await count_inbox(conn, g) for g in want}
            raise TimeoutError(f"pipeline stalled: {got} of {want}")
        await asyncio.sleep(0.02)
    return done


async def run(args) -> dict:
    from services.registry.service import definition as registry
    from shared.outbox import OutboxRelay
    from shared.runtime import open_runtime
    from shared.settings import Settings

    prefix = f"benchpipe{uuid.uuid4().hex[:8]}."
    registry_db = await create_database("bench_pipe_registry")
    monitoring_db = await create_database("bench_pipe_monitoring")
    pipe = Pipeline(prefix, registry_db, monitoring_db, args.port)
    rng = random.Random(5)
    out: dict = {"prefix": prefix}
    try:
        settings = Settings(env="test", bus="kafka", kafka_bootstrap=KAFKA, topic_prefix=prefix,
                            registry_database_url=sa_url(registry_db),
                            data_dir=Path(tempfile.mkdtemp()), log_level="WARNING")
        async with open_runtime(registry, settings) as runtime:
            await runtime.bus.ensure_topics(list(registry.topics))
            relay = OutboxRelay(service="registry", engine=runtime.engine,
                                table=registry.infra.outbox, bus=runtime.bus,
                                batch_size=settings.relay_batch_size,
                                idle_seconds=settings.relay_idle_seconds)
            relay_task = asyncio.create_task(relay.run_forever())
            await pipe.start_monitoring()
            mon = await asyncpg.connect(f"{PG_DSN}/{monitoring_db}")
            try:
                # Warm-up: both groups joined and handling (not measured).
                warm = list(household_events(100, rng))
                await pipe.write(runtime, relay, warm)
                await wait_counts(mon, {PROJECTION: 200, RULES: 100}, timeout=120)
                print("warm", flush=True)
                out["paced"] = []
                for rate in (float(r) for r in args.rates.split(",") if float(r) > 0):
                    out["paced"].append(await paced(pipe, runtime, relay, mon, rng, rate,
                                                    args.seconds))
                    print(json.dumps(out["paced"][-1]), flush=True)
                if args.burst:
                    out["burst"] = await burst(pipe, runtime, relay, mon, rng, args)
                    print(json.dumps(out["burst"]), flush=True)
            finally:
                await mon.close()
                pipe.stop_monitoring()
                relay_task.cancel()
                await asyncio.gather(relay_task, return_exceptions=True)
        if args.raw:
            out["raw"] = await raw_kafka(prefix, args.raw)
            print(json.dumps(out["raw"]), flush=True)
    finally:
        pipe.stop_monitoring()
        await drop_database(registry_db)
        await drop_database(monitoring_db)
        out["topics_deleted"] = await delete_topics(prefix)
    return out


async def paced(pipe: Pipeline, runtime, relay, mon, rng, rate: float, seconds: float) -> dict:
    """Write `rate` events/s in ticks of 10 ms for `seconds`; watch each event arrive."""
    total = int(rate * seconds)
    events = list(household_events(total // 2, rng))
    per_tick = max(2, int(rate / 100) // 2 * 2)
    tick = per_tick / rate
    seen: dict[str, dict[str, float]] = {PROJECTION: {}, RULES: {}}
    pipe.pending = {PROJECTION: set(), RULES: set()}
    stop = asyncio.Event()

    async def observe() -> None:
        while True:
            for group in (PROJECTION, RULES):
                pending = pipe.pending[group]
                if pending:
                    rows = await mon.fetch(
                        "SELECT event_id FROM inbox WHERE consumer_group = $1 "
                        "AND event_id = ANY($2::text[])", group, list(pending))
                    now = time.time()
                    for r in rows:
                        seen[group][r["event_id"]] = now
                        pending.discard(r["event_id"])
            if stop.is_set() and all(
                    len(seen[g]) >= (total if g == PROJECTION else total // 2) for g in seen):
                return
            await asyncio.sleep(0.005)

    observer = asyncio.create_task(observe())
    load_start = load()
    cpu_start = pipe.cpu_seconds()
    started = time.monotonic()
    for k in range(0, len(events), per_tick):
        target = started + (k // per_tick) * tick
        delay = target - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await pipe.write(runtime, relay, events[k:k + per_tick])
    write_s = time.monotonic() - started
    stop.set()
    await asyncio.wait_for(observer, timeout=300)
    drained_s = time.monotonic() - started
    cpu = pipe.cpu_seconds() - cpu_start
    pipe.pending = None
    lat = {g: [(t - pipe.committed[i]) * 1000 for i, t in seen[g].items()] for g in seen}
    # The relay's share: outbox published_at (after Kafka acked) minus the commit.
    reg = await asyncpg.connect(f"{PG_DSN}/{pipe.registry_db}")
    try:
        rows = await reg.fetch("SELECT event_id, extract(epoch FROM published_at) AS p "
                               "FROM outbox WHERE published_at IS NOT NULL")
    finally:
        await reg.close()
    relay_ms = [(float(r["p"]) - pipe.committed[r["event_id"]]) * 1000 for r in rows
                if r["event_id"] in seen[PROJECTION]]
    return {"rate": rate, "events": total, "offered_rate": total / write_s,
            "sustained_rate": total / drained_s, "load": f"{load_start} → {load()}",
            "cpu_ms_per_1000": cpu * 1e6 / total,
            "p50": statistics.median(lat[PROJECTION]), "p99": percentile(lat[PROJECTION], 99),
            "max": max(lat[PROJECTION]),
            "rules_p50": statistics.median(lat[RULES]), "rules_p99": percentile(lat[RULES], 99),
            "relay_p50": statistics.median(relay_ms), "relay_p99": percentile(relay_ms, 99)}


async def burst(pipe: Pipeline, runtime, relay, mon, rng, args) -> dict:
    """Write `burst` events as fast as one writer can (transactions of 500) while the
    pipeline runs; time from the first commit until both groups hold every effect."""
    events = list(household_events(args.burst // 2, rng))
    base = {g: await count_inbox(mon, g) for g in (PROJECTION, RULES)}
    load_start = load()
    cpu_start = pipe.cpu_seconds()
    started = time.time()
    for k in range(0, len(events), 500):
        await pipe.write(runtime, relay, events[k:k + 500])
    written = time.time()
    done = await wait_counts(mon, {PROJECTION: base[PROJECTION] + len(events),
                                   RULES: base[RULES] + len(events) // 2}, timeout=900)
    end = max(done.values())
    cpu = pipe.cpu_seconds() - cpu_start
    reg = await asyncpg.connect(f"{PG_DSN}/{pipe.registry_db}")
    try:  # when the relay had every event of the burst on Kafka (acknowledged)
        relayed = float(await reg.fetchval("SELECT extract(epoch FROM max(published_at)) "
                                           "FROM outbox"))
    finally:
        await reg.close()
    return {"events": len(events), "write_rate": len(events) / (written - started),
            "relay_rate": len(events) / (relayed - started),
            "cpu_ms_per_1000": cpu * 1e6 / len(events),
            "projection_rate": len(events) / (done[PROJECTION] - started),
            "rate": len(events) / (end - started), "seconds": end - started,
            "load": f"{load_start} → {load()}"}


async def raw_kafka(prefix: str, n: int) -> dict:
    """The broker's limit for this client library: produce n messages (KafkaBus producer
    settings, same payload sizes, 3 partitions) and consume them, no database."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    from shared.events.envelope import CloudEvent

    topic = prefix + "raw"
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 3, 1)])
    finally:
        await admin.close()
    values = [(s.encode(), CloudEvent.of(p, service="registry", subject=s,
                                         region_code=r).to_bytes())
              for p, s, r in household_events(n // 2, random.Random(3))]
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=KAFKA, group_id=prefix + "rawgroup",
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA, enable_idempotence=True, acks="all",
                                linger_ms=2)
    await producer.start()
    got = 0
    load_start = load()

    async def consume() -> float:
        nonlocal got
        while got < len(values):
            batch = await consumer.getmany(timeout_ms=1000, max_records=500)
            got += sum(len(v) for v in batch.values())
            if batch:
                await consumer.commit()
        return time.perf_counter()

    try:
        reader = asyncio.create_task(consume())
        await asyncio.sleep(3)  # the group joins before the clock starts
        started = time.perf_counter()
        for k in range(0, len(values), 500):
            futures = [await producer.send(topic, v, key=key) for key, v in values[k:k + 500]]
            await asyncio.gather(*futures)
        produced = time.perf_counter()
        consumed = await asyncio.wait_for(reader, timeout=300)
    finally:
        await producer.stop()
        await consumer.stop()
    return {"messages": len(values), "bytes_avg": sum(len(v) for _, v in values) // len(values),
            "produce_rate": len(values) / (produced - started),
            "produce_consume_rate": len(values) / (consumed - started),
            "load": f"{load_start} → {load()}"}


def record(command: str, out: dict) -> str:
    b, r = out.get("burst"), out.get("raw")
    parts = []
    for p in out.get("paced", []):
        parts.append(
            f"paced {p['rate']:,.0f} events/s for {p['events']:,} events (offered "
            f"{p['offered_rate']:,.0f}/s): commit→projection row p50 {p['p50']:.0f} ms, "
            f"**p99 {p['p99']:.0f} ms** (max {p['max']:.0f}); commit→rules effect p50 "
            f"{p['rules_p50']:.0f} / p99 {p['rules_p99']:.0f} ms; of which commit→Kafka ack "
            f"(relay) p50 {p['relay_p50']:.0f} / p99 {p['relay_p99']:.0f} ms; drained at "
            f"{p['sustained_rate']:,.0f} events/s; monitoring process CPU "
            f"{p['cpu_ms_per_1000']:,.0f} ms per 1,000 events ({p['load']})")
    if b:
        parts.append(
            f"burst of {b['events']:,} events: **{b['rate']:,.0f} events/s** through both "
            f"groups ({b['projection_rate']:,.0f}/s projection only; writer alone "
            f"{b['write_rate']:,.0f}/s; on Kafka (relay) at {b['relay_rate']:,.0f}/s; "
            f"monitoring process CPU {b['cpu_ms_per_1000']:,.0f} ms "
            f"per 1,000 events) ({b['load']})")
    if r:
        parts.append(
            f"limit, raw aiokafka on the same broker ({r['messages']:,} messages of "
            f"~{r['bytes_avg']} B, 3 partitions, acks=all): produce {r['produce_rate']:,.0f}/s, "
            f"produce→consume {r['produce_consume_rate']:,.0f}/s ({r['load']})")
    ratios = []
    if b and r:
        ratios.append(f"pipeline/raw = {b['rate'] / r['produce_consume_rate']:.0%}")
    if b:
        ratios.append(f"burst {b['rate'] / 5000:.0%} of the 5,000 events/s goal")
    for p in out.get("paced", []):
        ratios.append(f"p99 at {p['rate']:,.0f}/s = {p['p99'] / 250:.0%} of the 250 ms goal")
    figures = "; ".join(parts)
    append_result("event pipeline registry→Kafka→monitoring", command, figures,
                  "; ".join(ratios))
    return figures + "; " + "; ".join(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="1000,250",
                        help="paced runs, events/s, comma-separated (0: skip)")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--burst", type=int, default=30_000, help="events in the burst (0: skip)")
    parser.add_argument("--raw", type=int, default=30_000, help="raw aiokafka messages (0: skip)")
    parser.add_argument("--port", type=int, default=18_731)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    out = asyncio.run(run(args))
    print(json.dumps(out, indent=1))
    if not args.no_record:
        print(record("python bench/event_pipeline.py " + " ".join(sys.argv[1:]), out))


if __name__ == "__main__":
    main()
