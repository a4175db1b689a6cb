"""Tasks (任务): creation with lead and cooperating units, progress, completion, 销号."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from services.tasks.db.tables import Plan, ProgressReport, Task
from services.tasks.domain import units
from services.tasks.domain.calendar import today as shanghai_today
from services.tasks.domain.enums import DONE, PENDING, TaskStatus
from shared.errors import ErrorItem, NotFound, Problem, RuleViolations, Unprocessable
from shared.events.tasks import (
    TaskCancelled,
    TaskCompleted,
    TaskCreated,
    TaskProgressReported,
    TaskVerified,
)
from shared.ids import new_id
from shared.regions import within
from shared.tx import Tx


async def create_task(tx: Tx, *, title: str, region_code: str, lead_unit_id: str,
                      due_on: dt.date, cooperating_unit_ids: list[str] | None = None,
                      plan_id: str | None = None, lead_official_id: str | None = None,
                      description: str | None = None, category: str | None = None,
                      target: dict | None = None, source: str = "api",
                      source_key: str | None = None) -> Task:
    """Create a task after checking every reference; all unmet conditions are reported."""
    if source_key is not None:
        existing = (await tx.session.execute(
            sa.select(Task).where(Task.source_key == source_key))).scalar_one_or_none()
        if existing is not None:
            return existing  # the same upstream fact already made this task
    cooperating = list(dict.fromkeys(cooperating_unit_ids or []))
    await _check_references(tx, region_code=region_code, plan_id=plan_id, due_on=due_on,
                            lead_unit_id=lead_unit_id, lead_official_id=lead_official_id,
                            cooperating=cooperating)
    target = target or {}
    task = Task(id=new_id(), plan_id=plan_id, title=title, description=description,
                category=category, region_code=region_code, lead_unit_id=lead_unit_id,
                lead_official_id=lead_official_id,
                cooperating_unit_ids=[u for u in cooperating if u != lead_unit_id],
                due_on=due_on, target_metric=target.get("metric"), target_unit=target.get("unit"),
                target_value=target.get("value"), status=TaskStatus.open.value,
                source_key=source_key)
    tx.session.add(task)
    await tx.session.flush()
    tx.emit(TaskCreated(task_id=task.id, plan_id=plan_id, region_code=region_code,
                        lead_unit_id=lead_unit_id, cooperating_unit_ids=task.cooperating_unit_ids,
                        due_on=due_on, category=category, lead_official_id=lead_official_id,
                        source=source), subject=task.id, region_code=region_code)
    tx.audit("task.create", "task", task.id, region_code=region_code, after=snapshot(task))
    return task


async def _check_references(tx: Tx, *, region_code: str, plan_id: str | None, due_on: dt.date,
                            lead_unit_id: str, lead_official_id: str | None,
                            cooperating: list[str]) -> None:
    errors: list[ErrorItem] = []

    async def check(coro) -> None:
        try:
            await coro
        except Problem as problem:
            errors.extend(problem.errors)

    if plan_id is not None:
        await check(_check_plan(tx, plan_id, region_code, due_on))
    await check(units.unit_in_region(tx, lead_unit_id, region_code, field="lead_unit_id"))
    for index, unit_id in enumerate(cooperating):
        await check(units.unit_in_region(tx, unit_id, region_code,
                                         field=f"cooperating_unit_ids.{index}"))
    if lead_official_id is not None:
        await check(units.official_in_region(tx, lead_official_id, region_code,
                                             field="lead_official_id"))
    if errors:
        raise RuleViolations("任务数据不符合要求 (the task cannot be created)", errors)


async def _check_plan(tx: Tx, plan_id: str, region_code: str, due_on: dt.date) -> None:
    plan = await tx.session.get(Plan, plan_id)
    if plan is None:
        raise Unprocessable("unknown_plan", "实施方案不存在 (unknown plan)", field="plan_id")
    if not within(region_code, plan.region_code):
        raise Unprocessable("region_mismatch", "任务区域不在方案区域内 (task outside the plan's "
                            "region)", field="region_code")
    if due_on < plan.issued_on:
        raise Unprocessable("due_before_issue",
                            f"完成时限早于方案印发日期 {plan.issued_on} (due before the plan was "
                            "issued)", field="due_on")


async def get_task(tx: Tx, task_id: str, *, lock: bool = False) -> Task:
    task = await tx.session.get(Task, task_id, with_for_update=lock, populate_existing=lock)
    if task is None:
        raise NotFound("任务")
    return task


async def report_progress(tx: Tx, *, task: Task, note: str, value: float | None,
                          reported_on: dt.date) -> ProgressReport:
    """日报告: the first report moves an open task to in_progress; `value` is cumulative."""
    _ensure_pending(task, "report")
    before = snapshot(task)
    report = ProgressReport(id=new_id(), task_id=task.id, note=note, value=value,
                            reported_on=reported_on)
    tx.session.add(report)
    if value is not None:
        task.progress_value = value
    task.status = TaskStatus.in_progress.value
    _touch(task)
    await tx.session.flush()
    tx.emit(TaskProgressReported(task_id=task.id, region_code=task.region_code,
                                 reported_on=reported_on, value=value, status=task.status),
            subject=task.id, region_code=task.region_code)
    tx.audit("task.progress", "task", task.id, region_code=task.region_code, before=before,
             after=snapshot(task))
    return report


async def progress_reports(tx: Tx, task_id: str) -> list[ProgressReport]:
    return list((await tx.session.execute(
        sa.select(ProgressReport).where(ProgressReport.task_id == task_id)
        .order_by(ProgressReport.reported_on, ProgressReport.id))).scalars())


async def complete_task(tx: Tx, *, task: Task, evidence: str,
                        completed_on: dt.date | None = None) -> Task:
    if task.status == TaskStatus.cancelled.value:
        raise Unprocessable("task_cancelled", "任务已取消，不能完成 (the task was cancelled)")
    if task.status in DONE:
        raise Unprocessable("task_already_completed", "任务已完成 (the task is already completed)")
    _require_evidence(evidence)
    before = snapshot(task)
    completed_on = completed_on or shanghai_today()
    task.status, task.evidence, task.completed_on = TaskStatus.completed.value, evidence, completed_on
    task.days_late = max(0, (completed_on - task.due_on).days)
    _touch(task)
    await tx.session.flush()
    tx.emit(TaskCompleted(task_id=task.id, region_code=task.region_code, completed_on=completed_on,
                          lead_unit_id=task.lead_unit_id, days_late=task.days_late),
            subject=task.id, region_code=task.region_code)
    tx.audit("task.complete", "task", task.id, region_code=task.region_code, before=before,
             after=snapshot(task))
    return task


async def verify_task(tx: Tx, *, task: Task, verified_on: dt.date | None = None) -> Task:
    """销号: only a completed task can be closed out."""
    if task.status != TaskStatus.completed.value:
        raise Unprocessable("task_not_completed",
                            f"任务尚未完成，不能销号 (only a completed task can be verified; "
                            f"status is {task.status})")
    before = snapshot(task)
    task.status, task.verified_on = TaskStatus.verified.value, verified_on or shanghai_today()
    _touch(task)
    await tx.session.flush()
    tx.emit(TaskVerified(task_id=task.id, region_code=task.region_code,
                         verified_on=task.verified_on), subject=task.id,
            region_code=task.region_code)
    tx.audit("task.verify", "task", task.id, region_code=task.region_code, before=before,
             after=snapshot(task))
    return task


async def cancel_task(tx: Tx, *, task: Task, reason: str) -> Task:
    _ensure_pending(task, "cancel")
    before = snapshot(task)
    task.status = TaskStatus.cancelled.value
    _touch(task)
    await tx.session.flush()
    tx.emit(TaskCancelled(task_id=task.id, region_code=task.region_code, reason=reason),
            subject=task.id, region_code=task.region_code)
    tx.audit("task.cancel", "task", task.id, region_code=task.region_code, before=before,
             after=snapshot(task))
    return task


async def search_tasks(tx: Tx, *, region: str, unit_id: str | None, status: str | None,
                       overdue: bool | None, today: dt.date, limit: int,
                       after: str | None) -> list[Task]:
    query = sa.select(Task).where(Task.region_code.startswith(region)).order_by(Task.id)
    if unit_id:
        query = query.where(sa.or_(Task.lead_unit_id == unit_id,
                                   Task.id.in_(_cooperating(tx, unit_id))))
    if status:
        query = query.where(Task.status == status)
    if overdue is not None:
        late = sa.and_(Task.due_on < today, Task.status.in_(PENDING))
        query = query.where(late if overdue else sa.not_(late))
    if after:
        query = query.where(Task.id > after)
    return list((await tx.session.execute(query.limit(limit + 1))).scalars())


def _cooperating(tx: Tx, unit_id: str) -> sa.Select:
    """Ids of tasks listing `unit_id` among their cooperating units (a JSON array of ids,
    matched as text so the same query runs on both databases)."""
    as_text = sa.cast(Task.cooperating_unit_ids, sa.Text)
    return sa.select(Task.id).where(as_text.like(f'%"{unit_id}"%'))


def is_overdue(task: Task, today: dt.date) -> bool:
    return task.status in PENDING and task.due_on < today


def snapshot(task: Task) -> dict:
    return task.model_dump(mode="json", exclude={"created_at", "updated_at", "evidence",
                                                 "description", "overdue_emitted_at"})


def _ensure_pending(task: Task, action: str) -> None:
    if task.status == TaskStatus.cancelled.value:
        raise Unprocessable("task_cancelled", "任务已取消 (the task was cancelled)")
    if task.status not in PENDING:
        verb = {"report": "报告进度", "cancel": "取消"}[action]
        raise Unprocessable("task_closed", f"任务已完成，不能再{verb} (the task is {task.status})")


def _require_evidence(evidence: str) -> None:
    if not evidence or not evidence.strip():
        raise Unprocessable("evidence_required", "须提供完成佐证材料 (evidence is required)",
                            field="evidence")


def _touch(task: Task) -> None:
    task.version += 1
    task.updated_at = dt.datetime.now(dt.UTC)
