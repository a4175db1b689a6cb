"""Overdue by the Asia/Shanghai calendar, and the overdue event emitted exactly once."""

import asyncio
import datetime as dt
import json

from services.tasks.domain.calendar import today
from services.tasks.domain.overdue import emit_overdue
from services.tasks.scheduler import sweep_once
from tests.support.db import count, rows
from tests.support.platform import eventually
from tests.tasks.helpers import TasksApi


def test_today_is_the_shanghai_date():
    # 2020-06-30 16:30 UTC is already 1 July in Beijing.
    assert today(dt.datetime(2020, 6, 30, 16, 30, tzinfo=dt.UTC)) == dt.date(2020, 7, 1)
    assert today(dt.datetime(2020, 6, 30, 15, 59, tzinfo=dt.UTC)) == dt.date(2020, 6, 30)


async def _sweep(api, day: dt.date) -> int:
    async with api.rt.sessionmaker() as session:
        tx = api.rt.new_tx(session, actor="test")
        found = await emit_overdue(tx, today=day)
        await tx.flush()
        await session.commit()
    return found


async def _overdue_events(api) -> list[dict]:
    found = await rows(api.rt, "SELECT payload FROM outbox WHERE type = "
                               "'cn.fupin.tasks.task.overdue' ORDER BY id")
    return [json.loads(r.payload)["data"] for r in found]


async def test_emitted_once_when_the_due_date_passes(api):
    unit = await api.unit()
    due = await api.task(unit["id"], due_on="2031-03-31")
    done = await api.task(unit["id"], due_on="2031-03-31")
    await api.post(f"/tasks/{done['id']}/complete", {"evidence": "x"}, status=200)
    assert await _sweep(api, dt.date(2031, 3, 31)) == 0  # due today is not overdue yet
    assert await _sweep(api, dt.date(2031, 4, 1)) == 1
    assert await _sweep(api, dt.date(2031, 4, 2)) == 0  # never twice
    (event,) = await _overdue_events(api)
    assert event["task_id"] == due["id"]
    assert event["due_on"] == "2031-03-31"
    assert event["lead_unit_id"] == unit["id"]
    marked = await rows(api.rt, "SELECT overdue_emitted_at FROM tasks WHERE id = :i", i=due["id"])
    assert marked[0].overdue_emitted_at is not None


async def test_large_backlog_is_swept_in_batches(api):
    unit = await api.unit()
    for _ in range(5):
        await api.task(unit["id"], due_on="2031-01-01")
    async with api.rt.sessionmaker() as session:
        tx = api.rt.new_tx(session)
        assert await emit_overdue(tx, today=dt.date(2031, 2, 1), batch=3) == 3
        assert await emit_overdue(tx, today=dt.date(2031, 2, 1), batch=3) == 2
        await tx.flush()
        await session.commit()
    assert len(await _overdue_events(api)) == 5


async def test_scheduler_inside_the_service_emits_and_publishes(platform, monkeypatch):
    monkeypatch.setenv("FUPIN_TASKS_OVERDUE_INTERVAL_SECONDS", "0.2")
    await platform.start("tasks")
    api = TasksApi(platform)
    unit = await api.unit()
    late = await api.task(unit["id"], due_on="2020-01-01")
    await api.task(unit["id"], due_on="2099-01-01")
    await eventually(lambda: _overdue_events(api))
    await asyncio.sleep(0.5)  # a few more rounds: still one event
    assert [e["task_id"] for e in await _overdue_events(api)] == [late["id"]]
    assert await sweep_once(api.rt) == 0

    async def published():
        from shared.events.topics import TASKS

        found = await api.rt.bus.read_topic(TASKS)
        return [r for r in found if b"task.overdue" in r.value]

    assert len(await eventually(published)) == 1
    assert await count(api.rt, "outbox", "WHERE type LIKE '%overdue'") == 1
