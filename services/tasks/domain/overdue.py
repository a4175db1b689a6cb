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
    t = Task.__table__
    due = (sa.select(t.c.id).where(t.c.overdue_emitted_at.is_(None), t.c.due_on < today,
                                   t.c.status.in_(PENDING)).limit(batch))
    if tx.dialect == "postgresql":
        # A materialized CTE locks exactly `batch` rows once (an IN (... LIMIT) subquery may be
        # re-planned as a join); SKIP LOCKED keeps two replicas off the same rows.
        chosen = due.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
        where = t.c.id == chosen.c.id
    else:
        where = t.c.id.in_(due.scalar_subquery())
    marked = (sa.update(t).where(where, t.c.overdue_emitted_at.is_(None))
              .values(overdue_emitted_at=dt.datetime.now(dt.UTC))
              .returning(t.c.id, t.c.region_code, t.c.lead_unit_id, t.c.due_on))
    rows = sorted((await tx.session.execute(marked)).all(), key=lambda r: (r.due_on, r.id))
    for r in rows:
        tx.emit(TaskOverdue(task_id=r.id, region_code=r.region_code, lead_unit_id=r.lead_unit_id,
                            due_on=r.due_on, detected_on=today),
                subject=r.id, region_code=r.region_code)
    if rows:
        tx.audit("task.overdue", "task_batch", rows[0].id, region_code=None,
                 after={"task_ids": [r.id for r in rows], "today": str(today)})
    return len(rows)
