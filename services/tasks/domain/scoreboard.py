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


async def scoreboard(tx: Tx, *, region: str, today: dt.date) -> list[dict]:
    done = Task.status.in_(DONE)
    query = (sa.select(
        Unit.id, Unit.name, Unit.region_code,
        sa.func.count(Task.id).label("total"),
        sa.func.count(Task.id).filter(done).label("completed"),
        sa.func.count(Task.id).filter(Task.status == TaskStatus.verified.value).label("verified"),
        sa.func.count(Task.id).filter(Task.status.in_(PENDING), Task.due_on < today)
        .label("overdue"),
        sa.func.avg(sa.case((done, Task.days_late))).label("avg_late"))
        .join(Task, Task.lead_unit_id == Unit.id)
        .where(Task.region_code.startswith(region), Task.status != TaskStatus.cancelled.value)
        .group_by(Unit.id, Unit.name, Unit.region_code).order_by(Unit.region_code, Unit.name))
    out = []
    for row in (await tx.session.execute(query)).all():
        out.append({
            "unit_id": row.id, "unit_name": row.name, "region_code": row.region_code,
            "total": row.total, "completed": row.completed, "verified": row.verified,
            "overdue": row.overdue,
            "completion_rate": round(row.completed / row.total, 4) if row.total else 0.0,
            "average_days_late": None if row.avg_late is None else round(float(row.avg_late), 2),
        })
    return out


def to_xlsx(rows: list[dict], *, region: str, today: dt.date) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "考核"
    sheet.append([f"任务考核 region {region or '全国'} as of {today.isoformat()}"])
    sheet.append(list(HEADERS))
    for row in rows:
        sheet.append([row[c] for c in COLUMNS])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
