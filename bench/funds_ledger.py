"""Benchmark of the funds ledger on PostgreSQL (127.0.0.1:25432, user fupin/fupin).

1. Write throughput: disbursements/s through the domain function (`ledger.disburse`, one
   transaction each, as a request would run it) with 8 concurrent clients — on 8 separate
   allocations, and all 8 on one allocation (the row lock serialises them).
2. Statistics over 1,000,000 ledger entries filled by COPY: time of `reports.statistics`
   (what `GET /stats` runs), with the maintained per-allocation counters, and for
   comparison the same totals summed straight from the ledger.

Creates and drops its own database; appends a dated row to docs/benchmarks.md.
Run: .venv/bin/python bench/funds_ledger.py [--entries 1000000] [--writes 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import random
import statistics as stats
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import sqlalchemy as sa

from services.funds.domain import ledger, projects, reports, sources
from services.funds.service import definition
from shared.runtime import open_runtime
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
ADMIN = "postgresql://fupin:fupin@127.0.0.1:25432/postgres"
URL = "postgresql+asyncpg://fupin:fupin@127.0.0.1:25432/{db}"
YEAR = dt.date.today().year
CLIENTS = 8


async def in_tx(runtime, fn, **kwargs):
    async with runtime.sessionmaker() as session:
        tx = runtime.new_tx(session, actor="bench")
        result = await fn(tx, **kwargs)
        await tx.flush()
        await session.commit()
        return result


async def setup_allocations(runtime, n: int) -> list[str]:
    source = await in_tx(runtime, sources.register_source, name="bench", level="central",
                         kind="fiscal_special", fiscal_year=YEAR, document_no="bench-1",
                         region_code="430902", amount_fen=10**15,
                         permitted_categories=["industry"])
    out = []
    for i in range(n):
        project = await in_tx(runtime, projects.propose_project, name=f"p{i}",
                              region_code="430902100201", category="industry",
                              budget_fen=10**12, planned_start=dt.date(YEAR, 1, 1),
                              planned_end=dt.date(YEAR, 12, 31), beneficiary_household_ids=[])
        await in_tx(runtime, projects.approve_project, project_id=project.id)
        allocation = await in_tx(runtime, ledger.allocate, source_id=source.id,
                                 project_id=project.id, amount_fen=10**12, document_no="b",
                                 allocated_on=dt.date(YEAR, 1, 2))
        out.append(allocation.id)
    return out


async def write_throughput(runtime, allocation_ids: list[str], total: int) -> float:
    per_client = total // CLIENTS

    async def client(i: int) -> None:
        allocation_id = allocation_ids[i % len(allocation_ids)]
        for k in range(per_client):
            await in_tx(runtime, ledger.disburse, allocation_id=allocation_id, amount_fen=100,
                        payee="bench", paid_on=dt.date(YEAR, 2, 1), voucher_no=f"{i}-{k}")

    start = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(CLIENTS)))
    return per_client * CLIENTS / (time.perf_counter() - start)


async def fill(dsn: str, entries: int) -> dict[str, int]:
    """COPY sources, projects, allocations, disbursements and reversals: `entries` ledger rows."""
    rng = random.Random(7)
    n_alloc = max(entries // 50, 1)
    n_rev = entries // 50
    n_disb = entries - n_alloc - n_rev
    counties = [f"43{c:02d}{d:02d}" for c in range(1, 15) for d in range(1, 8)]
    now = dt.datetime.now(dt.UTC)
    levels, kinds = ["central", "provincial", "municipal", "county"], [
        "fiscal_special", "integrated_agri", "social", "collaboration", "other"]
    cats = ["industry", "employment", "infrastructure", "drinking_water", "housing",
            "education", "health", "social_security", "other"]
    conn = await asyncpg.connect(dsn)
    try:
        src = [(str(uuid.uuid4()), f"s{i}", levels[i % 4], kinds[i % 5], YEAR - i % 3,
                f"doc{i}", None, None, counties[i % len(counties)], 10**13, "[]", "bench", now)
               for i in range(len(counties) * 4)]
        await conn.copy_records_to_table("sources", records=src, columns=[
            "id", "name", "level", "kind", "fiscal_year", "document_no", "nature",
            "expenditure_class", "region_code", "amount_fen", "permitted_categories",
            "created_by", "created_at"])
        prj = [(str(uuid.uuid4()), f"p{i}", s[8] + "100201", cats[i % 9], s[4], 10**9,
                dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31), "approved", "bench", now, 2)
               for i, s in enumerate(src * 5)]
        await conn.copy_records_to_table("projects", records=prj, columns=[
            "id", "name", "region_code", "category", "fiscal_year", "budget_fen",
            "planned_start", "planned_end", "status", "proposed_by", "proposed_at", "version"])
        by_region = {}
        for p in prj:
            by_region.setdefault(p[2][:6], []).append(p)
        alloc = []
        for i in range(n_alloc):
            s = src[i % len(src)]
            p = rng.choice(by_region[s[8]])
            alloc.append((str(uuid.uuid4()), s[0], p[0], p[2], 10**8, "a",
                           dt.date(YEAR, 1, 1) + dt.timedelta(days=i % 300), "bench", now))
        await conn.copy_records_to_table("allocations", records=alloc, columns=[
            "id", "source_id", "project_id", "region_code", "amount_fen", "document_no",
            "allocated_on", "created_by", "created_at"])
        disb = [(str(uuid.uuid4()), a[0], a[2], a[3], rng.randint(1, 10**5), "payee",
                 dt.date(YEAR, 6, 1), f"v{i}", None, "bench", now)
                for i, a in ((i, alloc[i % n_alloc]) for i in range(n_disb))]
        await conn.copy_records_to_table("disbursements", records=disb, columns=[
            "id", "allocation_id", "project_id", "region_code", "amount_fen", "payee",
            "paid_on", "voucher_no", "household_id", "created_by", "created_at"])
        rev = [(str(uuid.uuid4()), d[0], d[1], d[4], "bench", "bench", now)
               for d in disb[:n_rev]]
        await conn.copy_records_to_table("reversals", records=rev, columns=[
            "id", "disbursement_id", "allocation_id", "amount_fen", "reason", "created_by",
            "created_at"])
        await conn.execute("""
            INSERT INTO allocation_balances (allocation_id, disbursed_fen, entries)
            SELECT a.id, COALESCE(d.s, 0) - COALESCE(r.s, 0), COALESCE(d.n, 0) + COALESCE(r.n, 0)
            FROM allocations a
            LEFT JOIN (SELECT allocation_id, SUM(amount_fen) s, COUNT(*) n FROM disbursements
                       GROUP BY allocation_id) d ON d.allocation_id = a.id
            LEFT JOIN (SELECT allocation_id, SUM(amount_fen) s, COUNT(*) n FROM reversals
                       GROUP BY allocation_id) r ON r.allocation_id = a.id
            ON CONFLICT (allocation_id) DO UPDATE SET disbursed_fen = EXCLUDED.disbursed_fen,
                                                      entries = EXCLUDED.entries""")
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return {"allocations": n_alloc, "disbursements": n_disb, "reversals": n_rev}


async def time_stats(runtime, *, region: str, runs: int = 15) -> float:
    """Median milliseconds of the statistics function (what GET /stats runs)."""
    times = []
    for _ in range(runs):
        async with runtime.sessionmaker() as session:
            tx = runtime.new_tx(session)
            start = time.perf_counter()
            await reports.statistics(tx, region=region, fiscal_year=YEAR)
            times.append((time.perf_counter() - start) * 1000)
            await session.rollback()
    return stats.median(times[2:])


async def time_from_ledger(runtime, *, region: str, runs: int = 5) -> float:
    """For comparison: the same progress summed from the 1M ledger rows, no counters."""
    sql = sa.text("""
        SELECT s.level, s.kind, p.category,
               SUM(d.amount_fen) - COALESCE(SUM(r.amount_fen), 0)
        FROM disbursements d JOIN allocations a ON a.id = d.allocation_id
        JOIN sources s ON s.id = a.source_id JOIN projects p ON p.id = a.project_id
        LEFT JOIN reversals r ON r.disbursement_id = d.id
        WHERE s.region_code LIKE :r AND s.fiscal_year = :y
        GROUP BY s.level, s.kind, p.category""")
    times = []
    for _ in range(runs):
        async with runtime.engine.connect() as conn:
            start = time.perf_counter()
            await conn.execute(sql, {"r": region + "%", "y": YEAR})
            times.append((time.perf_counter() - start) * 1000)
    return stats.median(times)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text()
                .splitlines() if line.startswith("model name")), platform.processor())
    mem = next(line.split(":", 1)[1].strip() for line in Path("/proc/meminfo").read_text()
               .splitlines() if line.startswith("MemTotal"))
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    load = Path("/proc/loadavg").read_text().split()[0]
    # The machine is shared (other test suites may run): the load says how busy it was.
    return f"{nproc} CPU ({cpu}), {mem} RAM, load average {load} at the end"


def append_row(figures: str, command: str) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    if not path.exists():
        path.write_text("# Benchmarks\n\n| date | benchmark | machine | command | figures |\n"
                        "|---|---|---|---|---|\n")
    with path.open("a") as out:
        out.write(f"| {dt.date.today()} | funds ledger | {machine()} | `{command}` | "
                  f"{figures} |\n")


async def main(entries: int, writes: int, record: bool) -> None:
    db = f"bench_funds_{os.getpid()}"
    admin = await asyncpg.connect(ADMIN)
    await admin.execute(f'CREATE DATABASE "{db}"')
    await admin.close()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(funds_database_url=URL.format(db=db), bus="embedded",
                                data_dir=Path(tmp))
            async with open_runtime(definition, settings) as runtime:
                spread = await write_throughput(runtime, await setup_allocations(runtime, 8),
                                                writes)
                hot = await write_throughput(runtime, await setup_allocations(runtime, 1),
                                             writes)
                print(f"writes: {spread:.0f}/s on 8 allocations, {hot:.0f}/s on one")
                filled = await fill(URL.format(db=db).replace("+asyncpg", ""), entries)
                province, county = await time_stats(runtime, region="43"), await time_stats(
                    runtime, region="430101")
                raw = await time_from_ledger(runtime, region="43")
                print(f"filled {filled}; stats {province:.1f} ms (province), "
                      f"{county:.1f} ms (county); from the ledger {raw:.0f} ms")
    finally:
        admin = await asyncpg.connect(ADMIN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()
    if record:
        append_row(f"disbursements/s with {CLIENTS} clients: {spread:.0f} (8 allocations), "
                   f"{hot:.0f} (one allocation); GET /stats over {entries:,} ledger entries "
                   f"({filled['allocations']:,} allocations): {province:.1f} ms province, "
                   f"{county:.1f} ms county (median; goal ≤ 200 ms); same totals summed from "
                   f"the ledger without counters: {raw:.0f} ms",
                   f"python bench/funds_ledger.py --entries {entries} --writes {writes}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.entries, args.writes, not args.no_record))
