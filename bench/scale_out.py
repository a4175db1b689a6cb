"""Benchmark of consumer scale-out: one vs two monitoring processes in one group (item 6).

    .venv/bin/python bench/scale_out.py [--events 40000 --partitions 6]

For each of 1 and 2 processes: a fresh monitoring database and a fresh topic prefix whose
registry households topic has `--partitions` partitions; N `fupin serve monitoring`
processes (the real service: both consumer groups, projection and rules, in each) start and
join; after a warm-up (so that the group has settled and the partitions are spread), a burst
of registry events (household.registered + income_recorded per household, keyed by household)
is published straight to Kafka, and the clock runs until both groups' inboxes hold every
event. Throughput = events / handling seconds: from the first burst event claimed in either
group's inbox to the last one (processed_at), so that publishing and the harness's polling are
left out; the time from the first publish until both inboxes are full is shown beside it.

Exactly-once proof, per run: (1) each process's own `fupin_events_handled_total` counters
(from its /metrics) sum, per group, to exactly the number of events published and every
process handled a share; (2) monitoring's tables hold exactly one inbox row per event and
group, one household_view and one income_view row per household, and one alert per
household whose income is below the line (the rules group's effect); no dead letters.

Creates and drops its own databases and topics; appends a row to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
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
    sa_url,
)
from bench.event_pipeline import PROJECTION, RULES, YEAR, household_events  # noqa: E402

LINE = 750_000


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def messages(events) -> list:
    """The Kafka messages of `events` (built before the clock starts)."""
    from shared.bus.base import Outgoing
    from shared.events.envelope import CloudEvent
    from shared.events.topics import HOUSEHOLDS

    return [Outgoing(HOUSEHOLDS, s, CloudEvent.of(p, service="registry", subject=s,
                                                  region_code=r).to_bytes())
            for p, s, r in events]


async def publish(bus, events=None, *, out: list | None = None) -> None:
    if out is None:
        out = messages(events)
    for k in range(0, len(out), 1000):
        await bus.publish(out[k:k + 1000])


async def metrics(client, port: int) -> dict[str, int]:
    text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    handled: dict[str, int] = {}
    for m in re.finditer(r'^fupin_events_handled_total\{([^}]*)\} ([\d.e+]+)$', text, re.M):
        group = re.search(r'group="([^"]*)"', m.group(1))
        if group:
            handled[group.group(1)] = handled.get(group.group(1), 0) + int(float(m.group(2)))
    return handled


async def one_run(processes: int, n_events: int, partitions: int, port: int) -> dict:
    import httpx

    from shared.bus.kafka import KafkaBus

    prefix = f"benchscale{uuid.uuid4().hex[:8]}."
    database = await create_database("bench_scale")
    children: list[subprocess.Popen] = []
    rng = random.Random(processes)
    bus = KafkaBus(KAFKA, partitions=partitions, prefix=prefix)
    try:
        from shared.events.topics import HOUSEHOLDS

        await bus.ensure_topics([HOUSEHOLDS])  # created here with the partitions wanted
        env = {**os.environ, "FUPIN_ENV": "test", "FUPIN_BUS": "kafka",
               "FUPIN_KAFKA_BOOTSTRAP": KAFKA, "FUPIN_TOPIC_PREFIX": prefix,
               "FUPIN_KAFKA_PARTITIONS": str(partitions),
               "FUPIN_MONITORING_DATABASE_URL": sa_url(database), "FUPIN_LOG_LEVEL": "WARNING"}
        for i in range(processes):
            children.append(subprocess.Popen(
                [str(ROOT / ".venv" / "bin" / "fupin"), "serve", "monitoring", "--host",
                 "127.0.0.1", "--port", str(port + i)],
                env={**env, "FUPIN_DATA_DIR": tempfile.mkdtemp()}, cwd=ROOT,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            await asyncio.sleep(2)  # one migrates first
        conn = await asyncpg.connect(f"{PG_DSN}/{database}")
        async with httpx.AsyncClient() as client:
            for i in range(processes):
                for _ in range(300):
                    try:
                        if (await client.get(f"http://127.0.0.1:{port + i}/healthz")).is_success:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.1)
            await conn.execute("INSERT INTO monitoring_lines VALUES ($1, '', $2, 1, now())",
                               YEAR, LINE)
            await bus.start()
            warm = list(household_events(200, rng))
            await publish(bus, warm)
            await wait_inbox(conn, {PROJECTION: len(warm), RULES: len(warm) // 2}, 120)
            await asyncio.sleep(8)  # let the group settle (members joined, partitions spread)
            before = {i: await metrics(client, port + i) for i in range(processes)}
            events = list(household_events(n_events // 2, rng))
            below = sum(1 for p, _, _ in events if getattr(p, "per_capita_net_income_fen",
                                                            LINE) < LINE)
            below += sum(1 for p, _, _ in warm if getattr(p, "per_capita_net_income_fen",
                                                          LINE) < LINE)
            burst = messages(events)
            load_start = load()
            cpu_start = sum(cpu_seconds(c.pid) for c in children)
            started = time.perf_counter()
            started_wall = time.time()
            await publish(bus, out=burst)
            published_s = time.perf_counter() - started
            total = {PROJECTION: len(warm) + len(events), RULES: (len(warm) + len(events)) // 2}
            await wait_inbox(conn, total, 900)
            seconds = time.perf_counter() - started
            cpu = sum(cpu_seconds(c.pid) for c in children) - cpu_start
            await asyncio.sleep(1)
            after = {i: await metrics(client, port + i) for i in range(processes)}
        # Handling time: from the first burst event claimed to the last, in either group (the
        # inbox's processed_at, stamped when a batch claims its events): publishing, fetch
        # start-up and the final polls of the wait are left out, so the figure says how fast
        # the members handle, not how long the harness waits.
        first, last = await conn.fetchrow(
            "SELECT extract(epoch FROM min(processed_at)), extract(epoch FROM max(processed_at)) "
            "FROM inbox WHERE processed_at >= to_timestamp($1)", started_wall)
        handling_s = float(last) - float(first)
        share = {i: {g: after[i].get(g, 0) - before[i].get(g, 0) for g in (PROJECTION, RULES)}
                 for i in range(processes)}
        checks = {
            "inbox_projection": await conn.fetchval(
                "SELECT count(*) FROM inbox WHERE consumer_group = $1", PROJECTION),
            "inbox_rules": await conn.fetchval(
                "SELECT count(*) FROM inbox WHERE consumer_group = $1", RULES),
            "household_view": await conn.fetchval("SELECT count(*) FROM household_view"),
            "income_view": await conn.fetchval("SELECT count(*) FROM income_view"),
            "alerts": await conn.fetchval("SELECT count(*) FROM alerts"),
            "dead_letters": await conn.fetchval("SELECT count(*) FROM dead_letters"),
        }
        await conn.close()
        households = (len(warm) + len(events)) // 2
        handled = {g: sum(s[g] for s in share.values()) for g in (PROJECTION, RULES)}
        exactly_once = (
            checks["inbox_projection"] == total[PROJECTION]
            and checks["inbox_rules"] == total[RULES]
            and checks["household_view"] == households == checks["income_view"]
            and checks["alerts"] == below and checks["dead_letters"] == 0
            and handled[PROJECTION] == len(events) and handled[RULES] == len(events) // 2
            and all(s[PROJECTION] > 0 for s in share.values()))
        return {"processes": processes, "partitions": partitions, "events": len(events),
                "seconds": seconds, "rate": len(events) / seconds, "publish_s": published_s,
                "handling_s": handling_s, "handling_rate": len(events) / handling_s,
                "cpu_s": cpu, "per_cpu_s": len(events) / cpu,
                "share": share, "checks": checks, "households": households,
                "alerts_expected": below, "exactly_once": exactly_once,
                "load": f"{load_start} → {load()}"}
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
        await bus.stop()
        await drop_database(database)
        await delete_topics(prefix)


async def wait_inbox(conn, want: dict[str, int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        got = {g: await conn.fetchval(
            "SELECT count(*) FROM inbox WHERE consumer_group = $1", g) for g in want}
        if all(got[g] >= n for g, n in want.items()):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"stalled at {got} of {want}")
        await asyncio.sleep(0.1)


def record(command: str, one: dict, two: dict) -> str:
    def run(r: dict) -> str:
        shares = ", ".join(f"{s[PROJECTION]:,}+{s[RULES]:,}" for s in r["share"].values())
        return (f"{r['processes']} process(es): {r['events']:,} events handled in "
                f"{r['handling_s']:.1f} s (first claimed → last claimed) = "
                f"**{r['handling_rate']:,.0f} events/s** ({r['seconds']:.1f} s = "
                f"{r['rate']:,.0f}/s from the first publish until both inboxes were full), "
                f"consumer processes' CPU {r['cpu_s']:.1f} s = "
                f"{r['per_cpu_s']:,.0f} events per CPU-second (handled per process, projection+rules: "
                f"{shares}); rows: inbox {r['checks']['inbox_projection']:,} + "
                f"{r['checks']['inbox_rules']:,}, household_view "
                f"{r['checks']['household_view']:,}, income_view "
                f"{r['checks']['income_view']:,} for {r['households']:,} households, alerts "
                f"{r['checks']['alerts']:,} of {r['alerts_expected']:,} expected, dead letters "
                f"{r['checks']['dead_letters']}: exactly once "
                f"{'✔' if r['exactly_once'] else '✘'} ({r['load']})")
    figures = (f"topic with {one['partitions']} partitions, both monitoring groups per "
               f"process; {run(one)}; {run(two)}")
    ratio = (f"2 processes / 1 = {two['handling_rate'] / one['handling_rate']:.2f}× handling "
             f"({two['rate'] / one['rate']:.2f}× publish → full inboxes)")
    append_result("scale-out, monitoring consumers", command, figures, ratio)
    return figures + "; " + ratio


async def run(args) -> tuple[dict, dict]:
    one = await one_run(1, args.events, args.partitions, args.port)
    print(json.dumps(one), flush=True)
    two = await one_run(2, args.events, args.partitions, args.port)
    print(json.dumps(two), flush=True)
    return one, two


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--port", type=int, default=18_751)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    one, two = asyncio.run(run(args))
    if not args.no_record:
        print(record("python bench/scale_out.py " + " ".join(sys.argv[1:]), one, two))


if __name__ == "__main__":
    main()
