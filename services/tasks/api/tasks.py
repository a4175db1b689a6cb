"""Routes for tasks (任务): create, progress, complete, verify (销号), cancel, search."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

from services.tasks.api.schemas import (
    CancelBody,
    CompleteBody,
    ProgressCreate,
    ProgressRead,
    Target,
    TaskCreate,
    TaskRead,
    VerifyBody,
)
from services.tasks.db.tables import Task
from services.tasks.domain import tasks
from services.tasks.domain.calendar import today
from services.tasks.domain.enums import TaskStatus
from shared.auth import Principal, require
from shared.tx import Tx
from shared.web import Page, PageDep, TxDep, check_if_match, etag, page_of, service_router

router = service_router("tasks", tags=["tasks: tasks 任务"])
Reader = Annotated[Principal, require("tasks:read")]
Writer = Annotated[Principal, require("tasks:write")]


def task_read(task: Task) -> TaskRead:
    target = None
    if task.target_value is not None:
        target = Target(metric=task.target_metric, unit=task.target_unit, value=task.target_value)
    ratio = None
    if task.target_value and task.progress_value is not None:
        ratio = round(task.progress_value / task.target_value, 4)
    return TaskRead(
        id=task.id, plan_id=task.plan_id, title=task.title, description=task.description,
        category=task.category, region_code=task.region_code, lead_unit_id=task.lead_unit_id,
        lead_official_id=task.lead_official_id, cooperating_unit_ids=task.cooperating_unit_ids,
        due_on=task.due_on, target=target, progress_value=task.progress_value,
        progress_ratio=ratio, status=task.status, overdue=tasks.is_overdue(task, today()),
        evidence=task.evidence, completed_on=task.completed_on, days_late=task.days_late,
        verified_on=task.verified_on, version=task.version)


def _respond(task: Task, response: Response) -> TaskRead:
    response.headers["ETag"] = etag(task.version)
    return task_read(task)


async def _writable_task(tx: Tx, task_id: str, principal: Principal, request: Request) -> Task:
    task = await tasks.get_task(tx, task_id, lock=True)
    principal.ensure_visible(task.region_code, "任务")
    check_if_match(request, task.version)
    return task


@router.post("/tasks", status_code=201, response_model=TaskRead, summary="新建任务 / create a task")
async def create_task(body: TaskCreate, tx: TxDep, principal: Writer,
                      response: Response) -> TaskRead:
    principal.ensure_writable(body.region_code)
    task = await tasks.create_task(
        tx, plan_id=body.plan_id, title=body.title, description=body.description,
        category=body.category, region_code=body.region_code, lead_unit_id=body.lead_unit_id,
        lead_official_id=body.lead_official_id, cooperating_unit_ids=body.cooperating_unit_ids,
        due_on=body.due_on, target=body.target.model_dump() if body.target else None)
    response.headers["Location"] = f"/api/v1/tasks/tasks/{task.id}"
    return _respond(task, response)


@router.get("/tasks/{task_id}", response_model=TaskRead, summary="查询任务 / read a task")
async def get_task(task_id: str, tx: TxDep, principal: Reader, response: Response) -> TaskRead:
    task = await tasks.get_task(tx, task_id)
    principal.ensure_visible(task.region_code, "任务")
    return _respond(task, response)


@router.get("/tasks", response_model=Page[TaskRead], summary="任务查询 / search tasks")
async def search_tasks(
        tx: TxDep, principal: Reader, page: PageDep,
        region: Annotated[str | None, Query(max_length=12)] = None,
        unit_id: Annotated[str | None, Query(max_length=36, pattern=r"^[0-9a-fA-F-]+$")] = None,
        status: TaskStatus | None = None, overdue: bool | None = None) -> Page:
    found = await tasks.search_tasks(tx, region=principal.narrow(region), unit_id=unit_id,
                                     status=status.value if status else None, overdue=overdue,
                                     today=today(), limit=page.limit, after=page.after)
    return page_of([task_read(t) for t in found], page.limit, key=lambda t: t.id)


@router.post("/tasks/{task_id}/progress", status_code=201, response_model=ProgressRead,
             summary="报告进度 / report progress")
async def report_progress(task_id: str, body: ProgressCreate, tx: TxDep, principal: Writer,
                          request: Request, response: Response) -> ProgressRead:
    task = await _writable_task(tx, task_id, principal, request)
    report = await tasks.report_progress(tx, task=task, note=body.note, value=body.value,
                                         reported_on=body.reported_on)
    response.headers["ETag"] = etag(task.version)
    return ProgressRead.model_validate(report, from_attributes=True)


@router.get("/tasks/{task_id}/progress", response_model=list[ProgressRead],
            summary="进度报告列表 / progress reports of a task")
async def list_progress(task_id: str, tx: TxDep, principal: Reader) -> list[ProgressRead]:
    task = await tasks.get_task(tx, task_id)
    principal.ensure_visible(task.region_code, "任务")
    return [ProgressRead.model_validate(r, from_attributes=True)
            for r in await tasks.progress_reports(tx, task_id)]


@router.post("/tasks/{task_id}/complete", response_model=TaskRead,
             summary="完成任务 / complete a task (evidence required)")
async def complete_task(task_id: str, body: CompleteBody, tx: TxDep, principal: Writer,
                        request: Request, response: Response) -> TaskRead:
    task = await _writable_task(tx, task_id, principal, request)
    await tasks.complete_task(tx, task=task, evidence=body.evidence,
                              completed_on=body.completed_on)
    return _respond(task, response)


@router.post("/tasks/{task_id}/verify", response_model=TaskRead,
             summary="销号 / verify (close out) a completed task")
async def verify_task(task_id: str, tx: TxDep, principal: Writer, request: Request,
                      response: Response, body: VerifyBody | None = None) -> TaskRead:
    task = await _writable_task(tx, task_id, principal, request)
    await tasks.verify_task(tx, task=task, verified_on=body.verified_on if body else None)
    return _respond(task, response)


@router.post("/tasks/{task_id}/cancel", response_model=TaskRead, summary="取消任务 / cancel")
async def cancel_task(task_id: str, body: CancelBody, tx: TxDep, principal: Writer,
                      request: Request, response: Response) -> TaskRead:
    task = await _writable_task(tx, task_id, principal, request)
    await tasks.cancel_task(tx, task=task, reason=body.reason)
    return _respond(task, response)
