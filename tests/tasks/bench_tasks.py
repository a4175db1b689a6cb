"""Benchmark of the tasks service's set-based paths on the real PostgreSQL (127.0.0.1:25432):

1. the overdue sweep over N tasks (a share of them past due): `scheduler.sweep_once`, batches
   of 1,000 per transaction, one outbox row per task; then a second sweep that finds nothing;
2. the scoreboard (SQL aggregates) for a province and for one county;
3. `GET /tasks?overdue=true` first page equivalent (`search_tasks`, limit 50);
4. the plan import of seed 000 (14 tasks, 20 units, 4 officials).

Creates and drops its own database; the bus is an embedded log in a temporary directory.
Run: .venv/bin/python -m tests.tasks.bench_tasks [--tasks 200000]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import sqlalchemy as sa

from services.tasks.db.tables import Task, Unit
from services.tasks.domain import plans, scoreboard, tasks
from services.tasks.domain.calendar import today
from services.tasks.scheduler import sweep_once
from services.tasks.service import definition
from shared.ids import new_id
from shared.runtime import open_runtime
from shared.settings import Settings

ADMIN = "postgresql://fupin:fupin@127.0.0.1:25432/postgres"
URL = "postgresql+asyncpg://fupin:fupin@127.0.0.1:25432/{db}"
SEED_000 = Path(__file__).resolve().parents[3] / "shared" / "seeds" / "000_e5112b4b1e0e3cec.txt"
COUNTIES = [f"4309{n:02d}" for n in range(1, 11)]


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _fill(runtime, n_tasks: int, overdue_share: float) -> int:
    """Units and tasks by multi-row inserts; returns how many tasks are past due."""
    rng, now, day = random.Random(7), dt.datetime.now(dt.UTC), today()
    units = [{"id": new_id(), "name": f"单位{i}", "region_code": COUNTIES[i % 10],
              "created_at": now} for i in range(200)]
    late = 0
    async with runtime.sessionmaker() as session:
        await session.execute(sa.insert(Unit), units)
        for start in range(0, n_tasks, 10_000):
            rows = []
            for _ in range(min(10_000, n_tasks - start)):
                unit = rng.choice(units)
                past = rng.random() < overdue_share
                late += past
                rows.append({
                    "id": new_id(), "title": "任务", "region_code": unit["region_code"],
                    "lead_unit_id": unit["id"], "cooperating_unit_ids": [],
                    "due_on": day - dt.timedelta(days=rng.randint(1, 300)) if past
                    else day + dt.timedelta(days=rng.randint(1, 300)),
                    "status": rng.choice(["open", "in_progress"]), "version": 1,
                    "created_at": now, "updated_at": now})
            await session.execute(sa.insert(Task), rows)
        await session.commit()
    return late


async def _timed(label: str, fn) -> object:
    start = time.perf_counter()
    result = await fn()
    print(f"{label}: {time.perf_counter() - start:.3f} s -> {result}")
    return result


async def _query(runtime, fn):
    async with runtime.sessionmaker() as session:
        tx = runtime.new_tx(session)
        result = await fn(tx)
        await tx.flush()
        await session.commit()
        return result


async def run(n_tasks: int) -> None:
    name = f"bench_tasks_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            settings = Settings(tasks_database_url=URL.format(db=name), data_dir=Path(data_dir))
            async with open_runtime(definition, settings) as runtime:
                late = await _fill(runtime, n_tasks, 0.3)
                print(f"{n_tasks} tasks, {late} past due")
                await _timed("overdue sweep", lambda: sweep_once(runtime))
                await _timed("second sweep", lambda: sweep_once(runtime))
                day = today()
                for region in ("43", COUNTIES[0]):
                    await _timed(f"scoreboard {region}", lambda r=region: _query(
                        runtime, lambda tx: _rows(scoreboard.scoreboard(tx, region=r, today=day))))
                await _timed("overdue search page", lambda: _query(runtime, lambda tx: _rows(
                    tasks.search_tasks(tx, region="43", unit_id=None, status=None, overdue=True,
                                       today=day, limit=50, after=None))))
                text = SEED_000.read_text(encoding="utf-8")
                await _timed("plan import seed 000", lambda: _query(runtime, lambda tx: _tasks(
                    plans.import_plan(tx, text=text, region_code="430902", document_no=None,
                                      issued_on=dt.date(2019, 9, 30)))))
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _rows(coro) -> int:
    return len(await coro)


async def _tasks(coro) -> int:
    return len((await coro).tasks)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=200_000)
    asyncio.run(run(parser.parse_args().tasks))


if __name__ == "__main__":
    main()
