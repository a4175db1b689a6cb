"""考核 scoreboard: per lead unit, SQL aggregates over the region's tasks.

Cancelled tasks are left out. `completed` counts completed and verified tasks; `overdue`
counts tasks still open or in progress after their due date; `completion_rate` is
completed ÷ total; `average_days_late` is the mean of days late over completed tasks (a task
finished on time counts 0), null when none is completed."""

from __future__ import annotations

import datetime as dt
import io

import sqlalchemy as sa

from services.tasks.db.tables import Task, Unit
from services.tasks.domain.enums import DONE, PENDING, TaskStatus
from shared.tx import Tx

COLUMNS = ("unit_id", "unit_name", "region_code", "total", "completed", "verified", "overdue",
           "completion_rate", "average_days_late")
HEADERS = ("单位ID", "单位", "区划代码", "任务总数", "已完成", "已销号", "逾期", "完成率",
           "平均逾期天数")


def _measures(today: dt.date) -> list:
    done = Task.status.in_(DONE)
    return [
        sa.func.count(Task.id).label("total"),
        sa.func.count(Task.id).filter(done).label("completed"),
        sa.func.count(Task.id).filter(Task.status == TaskStatus.verified.value).label("verified"),
        sa.func.count(Task.id).filter(Task.status.in_(PENDING), Task.due_on < today)
        .label("overdue"),
        sa.func.avg(sa.case((done, Task.days_late))).label("avg_late"),
    ]


def _figures(row) -> dict:
    return {
        "total": row.total, "completed": row.completed, "verified": row.verified,
        "overdue": row.overdue,
        "completion_rate": round(row.completed / row.total, 4) if row.total else 0.0,
        "average_days_late": None if row.avg_late is None else round(float(row.avg_late), 2),
    }


def _in_region(query: sa.Select, region: str) -> sa.Select:
    return query.where(Task.region_code.startswith(region),
                       Task.status != TaskStatus.cancelled.value)


async def scoreboard(tx: Tx, *, region: str, today: dt.date) -> list[dict]:
    """One row per lead unit of the region's tasks."""
    query = _in_region(sa.select(Unit.id, Unit.name, Unit.region_code, *_measures(today))
                       .join(Task, Task.lead_unit_id == Unit.id), region)
    query = query.group_by(Unit.id, Unit.name, Unit.region_code).order_by(Unit.region_code,
                                                                          Unit.name)
    return [{"unit_id": row.id, "unit_name": row.name, "region_code": row.region_code,
             **_figures(row)} for row in (await tx.session.execute(query)).all()]


async def region_totals(tx: Tx, *, region: str, today: dt.date) -> dict:
    """The same figures over every task of the region."""
    row = (await tx.session.execute(_in_region(sa.select(*_measures(today)), region))).one()
    return _figures(row)


def to_xlsx(rows: list[dict], totals: dict, *, region: str, today: dt.date) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "考核"
    sheet.append([f"任务考核 region {region or '全国'} as of {today.isoformat()}"])
    sheet.append(list(HEADERS))
    for row in rows:
        sheet.append([row[c] for c in COLUMNS])
    sheet.append(["", "合计", region, *(totals[c] for c in COLUMNS[3:])])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
