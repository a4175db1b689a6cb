"""Routes for plans (实施方案) and the plan import."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Query, Request

from services.tasks.api.schemas import (
    ImportedTaskRead,
    PlanCreate,
    PlanImportRead,
    PlanRead,
    UnplacedRead,
)
from services.tasks.domain import plans
from services.tasks.domain.calendar import today
from shared.auth import Principal, require
from shared.errors import Unprocessable
from shared.regions import is_region_code
from shared.web import TxDep, service_router

router = service_router("tasks", tags=["tasks: plans 实施方案"])
Reader = Annotated[Principal, require("tasks:read")]
Writer = Annotated[Principal, require("tasks:write")]


def plan_read(plan) -> PlanRead:
    return PlanRead.model_validate(plan, from_attributes=True)


@router.post("/plans", status_code=201, response_model=PlanRead,
             summary="新建实施方案 / create a plan")
async def create_plan(body: PlanCreate, tx: TxDep, principal: Writer) -> PlanRead:
    principal.ensure_writable(body.region_code)
    plan = await plans.create_plan(tx, title=body.title, document_no=body.document_no,
                                   issued_on=body.issued_on, region_code=body.region_code)
    return plan_read(plan)


@router.get("/plans/{plan_id}", response_model=PlanRead, summary="查询实施方案 / read a plan")
async def get_plan(plan_id: str, tx: TxDep, principal: Reader) -> PlanRead:
    plan = await plans.get_plan(tx, plan_id)
    principal.ensure_visible(plan.region_code, "实施方案")
    return plan_read(plan)


@router.post(
    "/plans/import", status_code=201, response_model=PlanImportRead,
    summary="从政策文件文本导入方案与任务 / import a plan and its tasks from a document",
    openapi_extra={"requestBody": {"required": True,
                                   "content": {"text/plain": {"schema": {"type": "string"}}}}})
async def import_plan(request: Request, tx: TxDep, principal: Writer,
                      region_code: Annotated[str, Query(min_length=2, max_length=12)],
                      document_no: Annotated[str | None, Query(max_length=100)] = None,
                      issued_on: Annotated[dt.date | None, Query()] = None,
                      title: Annotated[str | None, Query(max_length=200)] = None) -> PlanImportRead:
    """Body: the document's plain text (UTF-8). `issued_on` defaults to today (Asia/Shanghai);
    a task without 完成时限 is due on 31 December of that year."""
    if not is_region_code(region_code):
        raise Unprocessable("invalid_region_code", "区划代码无效 (invalid region code)",
                            field="region_code")
    principal.ensure_writable(region_code)
    try:
        text = (await request.body()).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Unprocessable("invalid_encoding", "正文须为 UTF-8 文本 (body must be UTF-8 text)",
                            field="body") from None
    result = await plans.import_plan(tx, text=text, region_code=region_code,
                                     document_no=document_no, issued_on=issued_on or today(),
                                     title=title)
    return PlanImportRead(
        plan=plan_read(result.plan),
        tasks=[ImportedTaskRead(
            task_id=t.task.id, number=t.extracted.number, section=t.extracted.section,
            title=t.task.title, line=t.extracted.line, lead_unit=t.lead_unit,
            cooperating_units=t.cooperating_units, lead_official=t.lead_official,
            lead_official_titles=t.lead_official_titles, due_on=t.task.due_on,
            due_text=t.extracted.due_text) for t in result.tasks],
        unplaced=[UnplacedRead(line=u.line, text=u.text[:500], reason=u.reason)
                  for u in result.unplaced],
        units_created=result.units_created, officials_created=result.officials_created)
