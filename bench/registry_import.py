"""Benchmark of the registry's bulk household import on PostgreSQL.

    .venv/bin/python bench/registry_import.py            # ~3-5 minutes on 2 cores

Seeds 100,000 households (~350,000 people) with `fupin seed`'s generator, imports them into
a fresh database on the test server (127.0.0.1:25432, fupin/fupin; the script creates and
drops its own databases) and compares the rate with
  (a) the raw limit: asyncpg `copy_records_to_table` of the same, already prepared rows into
      the same households/members tables, no checks, no events, no audit;
  (b) the naive way: one SQLModel ORM insert per row (measured on a sample).
Peak RSS is measured in a child process per file size to show that memory stays flat.

The test server runs with fsync and synchronous_commit off, which flatters every commit,
above all the naive way's commit per household. Unless --no-durable, the import, (a) and (b)
are measured again on a durable server as production runs one (fsync, synchronous_commit and
full_page_writes on): a second cluster of deploy/postgres.sh with FUPIN_PG_DURABLE=1 on its
own port and directory (--durable-port, --durable-dir), started for the run and stopped
after it if the script started it. Both sets of figures are printed and recorded.
Rows are appended to docs/benchmarks.md unless --no-record (or FUPIN_BENCH_NO_RECORD=1).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import append_result, peak_rss_mib  # noqa: E402

PG = os.environ.get("FUPIN_BENCH_PG", "fupin:fupin@127.0.0.1:25432")
ROOT = Path(__file__).resolve().parents[1]
REGION = "430902"
KEYS = {"pii_key": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        "blind_index_key": "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="}


# --- databases ---------------------------------------------------------------------------

async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(f"postgresql://{PG}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_database() -> str:
    name = f"bench_registry_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    return name


def drop_database(name: str) -> None:
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _settings(database: str, data_dir: str):
    from shared.settings import Settings

    return Settings(registry_database_url=f"postgresql+asyncpg://{PG}/{database}",
                    bus="embedded", data_dir=Path(data_dir), log_level="WARNING", **KEYS)


# --- child processes: each measures one thing in a fresh interpreter -----------------------

async def child_import(file: str, database: str, data_dir: str, households: int) -> dict:
    from services.registry.cli import create_regions, import_file
    from services.registry.service import definition
    from shared.runtime import open_runtime

    async with open_runtime(definition, _settings(database, data_dir)) as runtime:
        await create_regions(REGION, households, runtime)
        rss_before = peak_rss_mib()
        started, cpu = time.perf_counter(), time.process_time()
        report = await import_file(runtime, Path(file), mode="strict", batch=1000,
                                   actor="bench")
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert report.rejected == 0, report.errors[:3]
    return {"seconds": seconds, "cpu": cpu, "people": report.people,
            "households": report.imported, "rss_before_mib": rss_before,
            "peak_rss_mib": peak_rss_mib()}


def _prepared_rows(file: str, cipher, limit: int | None = None):
    """Households and members exactly as the import stores them, built before timing."""
    from shared.idnumber import parse_id_number
    from shared.ids import new_id

    now = dt.datetime.now(dt.UTC)
    households, members, current = [], [], None
    with open(file, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        for row in reader:
            if row[0] != (current and current[1]):
                if limit is not None and len(households) >= limit:
                    break
                current = (new_id(), row[0], row[11], "exited", "general", int(row[10]),
                           "illness", "[]", 1, now, now)
                households.append(current)
            info = parse_id_number(row[2])
            members.append((new_id(), current[0], row[1], cipher.encrypt(info.normalized),
                            cipher.blind_index(info.normalized), "head", "normal", "healthy",
                            "none", info.sex, info.birth_date, None, None, now))
    return households, members


H_COLUMNS = ["id", "household_no", "region_code", "status", "attribute", "identified_year",
             "primary_cause", "secondary_causes", "version", "created_at", "updated_at"]
M_COLUMNS = ["id", "household_id", "name", "id_cipher", "id_hash", "relation", "labor_ability",
             "health", "schooling", "sex", "birth_date", "removed_on", "removed_reason",
             "created_at"]


async def child_raw(file: str, database: str, data_dir: str, households: int) -> dict:
    """(a) COPY of prepared rows, no logic: the ceiling for the import."""
    from services.registry.service import definition
    from shared.runtime import open_runtime

    async with open_runtime(definition, _settings(database, data_dir)) as runtime:
        h_rows, m_rows = _prepared_rows(file, runtime.cipher)
        async with runtime.engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            started = time.perf_counter()
            async with raw.transaction():
                await raw.copy_records_to_table("households", records=h_rows, columns=H_COLUMNS)
                await raw.copy_records_to_table("members", records=m_rows, columns=M_COLUMNS)
            seconds = time.perf_counter() - started
    return {"seconds": seconds, "people": len(m_rows), "households": len(h_rows)}


async def child_naive(file: str, database: str, data_dir: str, households: int) -> dict:
    """(b) one SQLModel insert per row (and a commit per household), as a loop over the
    file with the ORM would do it; same checks-free rows as (a), the ID work included."""
    from services.registry.db.tables import Household, Member
    from services.registry.service import definition
    from shared.idnumber import parse_id_number
    from shared.ids import new_id
    from shared.runtime import open_runtime

    async with open_runtime(definition, _settings(database, data_dir)) as runtime:
        people = 0
        started = time.perf_counter()
        async with runtime.sessionmaker() as session:
            current, count = None, 0
            with open(file, encoding="utf-8", newline="") as f:
                reader = csv.reader(f)
                next(reader)
                for row in reader:
                    if current is None or row[0] != current.household_no:
                        if count >= households:
                            break
                        await session.commit()
                        current = Household(id=new_id(), household_no=row[0], region_code=row[11],
                                            status="exited", attribute="general",
                                            identified_year=int(row[10]), primary_cause="illness",
                                            secondary_causes=[])
                        session.add(current)
                        await session.flush()
                        count += 1
                    info = parse_id_number(row[2])
                    session.add(Member(
                        id=new_id(), household_id=current.id, name=row[1],
                        id_cipher=runtime.cipher.encrypt(info.normalized),
                        id_hash=runtime.cipher.blind_index(info.normalized), relation="head",
                        labor_ability="normal", health="healthy", schooling="none",
                        sex=info.sex, birth_date=info.birth_date))
                    await session.flush()
                    people += 1
            await session.commit()
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "people": people, "households": count}


CHILDREN = {"import": child_import, "raw": child_raw, "naive": child_naive}


def run_child(kind: str, file: Path, households: int, data_dir: str) -> dict:
    database = create_database()
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--child", kind, "--file", str(file), "--db", database,
             "--data-dir", data_dir, "--households", str(households)],
            check=True, capture_output=True, text=True, env={**os.environ, "FUPIN_BENCH_PG": PG})
    finally:
        drop_database(database)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- the benchmark --------------------------------------------------------------------------

def seed_file(directory: Path, households: int) -> Path:
    from services.registry.domain.seed import write_seed_csv

    path = directory / f"seed-{households}.csv"
    write_seed_csv(path, households=households, region=REGION, seed=2026)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=20_000, help="second size for peak RSS")
    parser.add_argument("--naive", type=int, default=2_000, help="households in the ORM sample")
    parser.add_argument("--no-record", action="store_true")
    parser.add_argument("--no-durable", action="store_true",
                        help="only the test server (fsync off), no durable second cluster")
    parser.add_argument("--durable-port", type=int, default=25433)
    parser.add_argument("--durable-dir", default="/tmp/fupin-pg-bench-durable")
    parser.add_argument("--child", choices=sorted(CHILDREN))
    parser.add_argument("--file")
    parser.add_argument("--db")
    parser.add_argument("--data-dir")
    args = parser.parse_args()
    if args.child:
        result = asyncio.run(CHILDREN[args.child](args.file, args.db, args.data_dir,
                                                  args.households))
        print(json.dumps(result))
        return 0
    return run_benchmark(args)


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_benchmark(args: argparse.Namespace) -> int:
    global PG
    with tempfile.TemporaryDirectory(prefix="fupin-bench-") as tmp:
        directory = Path(tmp)
        _log(f"seeding {args.households} and {args.small} households")
        big, small = seed_file(directory, args.households), seed_file(directory, args.small)
        size_mib = big.stat().st_size / 1048576
        runs = [("test server, fsync off", measure(args, big, small, tmp))]
        if not args.no_durable:
            with durable_server(args) as address:
                PG = address
                runs.append(("durable server, fsync on", measure(args, big, small, tmp)))
    for label, run in runs:
        figures, ratios = describe(args, run, size_mib, label)
        print(figures)
        print(ratios)
        if not args.no_record:
            name = "registry import (PostgreSQL)" if label.startswith("test") else \
                "registry import (PostgreSQL, durable)"
            append_result(name, ".venv/bin/python bench/registry_import.py", figures, ratios)
    return 0


def measure(args: argparse.Namespace, big: Path, small: Path, tmp: str) -> dict[str, dict]:
    _log(f"[{PG}] import of {args.small} households")
    small_run = run_child("import", small, args.small, tmp)
    _log(f"[{PG}] import of {args.households} households")
    big_run = run_child("import", big, args.households, tmp)
    _log(f"[{PG}] raw COPY of the same rows")
    raw = run_child("raw", big, args.households, tmp)
    _log(f"[{PG}] naive ORM inserts of {args.naive} households")
    naive = run_child("naive", big, args.naive, tmp)
    return {"small": small_run, "big": big_run, "raw": raw, "naive": naive,
            "settings": asyncio.run(_server_settings())}


async def _server_settings() -> str:
    import asyncpg

    conn = await asyncpg.connect(f"postgresql://{PG}/postgres")
    try:
        values = [await conn.fetchval(f"SHOW {name}")
                  for name in ("fsync", "synchronous_commit", "full_page_writes")]
    finally:
        await conn.close()
    return "fsync={} synchronous_commit={} full_page_writes={}".format(*values)


def describe(args: argparse.Namespace, run: dict[str, dict], size_mib: float,
             label: str) -> tuple[str, str]:
    big_run, small_run, raw, naive = run["big"], run["small"], run["raw"], run["naive"]
    rate = big_run["people"] / big_run["seconds"]
    raw_rate = raw["people"] / raw["seconds"]
    naive_rate = naive["people"] / naive["seconds"]
    figures = (
        f"{label} ({run['settings']}): "
        f"{args.households:,} households / {big_run['people']:,} people ({size_mib:.0f} MiB CSV), "
        f"strict import {big_run['seconds']:.1f} s = **{rate:,.0f} people/s** "
        f"({big_run['cpu']:.1f} s CPU in the importing process); "
        f"raw COPY (a) {raw['seconds']:.1f} s = {raw_rate:,.0f} people/s; "
        f"naive ORM (b) {naive['people']:,} people in {naive['seconds']:.1f} s = "
        f"{naive_rate:,.0f} people/s; peak RSS {small_run['peak_rss_mib']:.0f} MiB at "
        f"{args.small:,} households vs {big_run['peak_rss_mib']:.0f} MiB at "
        f"{args.households:,} (before import: {big_run['rss_before_mib']:.0f} MiB)")
    ratios = (f"import/raw = {rate / raw_rate:.0%} (goal ≥ 50 %); "
              f"import/naive = {rate / naive_rate:.0f}× (goal ≥ 30×)")
    return figures, ratios


@contextlib.contextmanager
def durable_server(args: argparse.Namespace) -> Iterator[str]:
    """A second deploy/postgres.sh cluster with FUPIN_PG_DURABLE=1 on its own port; stopped
    afterwards when this run started it (a cluster already running there is left alone)."""
    env = {**os.environ, "FUPIN_PG_DIR": args.durable_dir,
           "FUPIN_PG_PORT": str(args.durable_port), "FUPIN_PG_DURABLE": "1"}
    script = [str(ROOT / "deploy" / "postgres.sh")]
    running = subprocess.run(["bash", *script, "status"], env=env, capture_output=True,
                             check=False).returncode == 0
    if not running:
        _log(f"starting a durable PostgreSQL on 127.0.0.1:{args.durable_port}")
        subprocess.run(["bash", *script, "start"], env=env, check=True, capture_output=True)
    try:
        yield f"fupin:fupin@127.0.0.1:{args.durable_port}"
    finally:
        if not running:
            subprocess.run(["bash", *script, "stop"], env=env, check=False, capture_output=True)
            _log("durable PostgreSQL stopped")


if __name__ == "__main__":
    sys.exit(main())
