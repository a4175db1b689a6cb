"""逾期: a task still open or in progress after its due date (Asia/Shanghai) is overdue; the
`task.overdue` event is emitted once per task, recorded in `overdue_emitted_at`."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from services.tasks.db.tables import Task
from services.tasks.domain.enums import PENDING
from shared.events.tasks import TaskOverdue
from shared.tx import Tx


async def emit_overdue(tx: Tx, *, today: dt.date, batch: int = 1000) -> int:
    """Mark up to `batch` newly overdue tasks and emit one event each; return how many."""
    due = (sa.select(Task.id, Task.region_code, Task.lead_unit_id, Task.due_on)
           .where(Task.overdue_emitted_at.is_(None), Task.due_on < today,
                  Task.status.in_(PENDING))
           .order_by(Task.due_on, Task.id).limit(batch))
    if tx.dialect == "postgresql":
        due = due.with_for_update(skip_locked=True)  # two replicas never take the same rows
    rows = (await tx.session.execute(due)).all()
    if not rows:
        return 0
    now = dt.datetime.now(dt.UTC)
    await tx.session.execute(sa.update(Task).where(
        Task.id.in_([r.id for r in rows]), Task.overdue_emitted_at.is_(None))
        .values(overdue_emitted_at=now).execution_options(synchronize_session=False))
    for r in rows:
        tx.emit(TaskOverdue(task_id=r.id, region_code=r.region_code, lead_unit_id=r.lead_unit_id,
                            due_on=r.due_on, detected_on=today),
                subject=r.id, region_code=r.region_code)
    tx.audit("task.overdue", "task_batch", rows[0].id, region_code=None,
             after={"task_ids": [r.id for r in rows], "today": str(today)})
    return len(rows)
