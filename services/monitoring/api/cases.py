"""Routes for monitored cases (监测对象), measures and risk elimination."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from services.monitoring.api.deps import Reader, Writer
from services.monitoring.api.schemas import (
    CaseRead,
    EliminateCreate,
    HistoryItem,
    MeasureCreate,
    MeasureRead,
    StepCreate,
    StepRead,
)
from services.monitoring.domain import alerts, cases
from services.monitoring.domain.enums import CaseStatus, Category
from shared.tx import Tx
from shared.web import Page, PageDep, TxDep, etag, page_of, service_router

router = service_router("monitoring", tags=["monitoring: cases 监测对象"])


def case_read(case, **extra) -> CaseRead:
    return CaseRead.model_validate({**case.model_dump(), **extra})


async def _visible(tx: Tx, principal, case_id: str, *, lock: bool = False):
    case = await cases.get_case(tx, case_id, lock=lock)
    principal.ensure_visible(case.region_code, "监测对象")
    return case


@router.get("/cases", response_model=Page[CaseRead], summary="监测对象列表 / list cases")
async def list_cases(tx: TxDep, principal: Reader, page: PageDep,
                     region: Annotated[str | None, Query(max_length=12)] = None,
                     status: CaseStatus | None = None, category: Category | None = None) -> Page:
    found = await cases.list_cases(tx, within=principal.narrow(region),
                                   status=status.value if status else None,
                                   category=category.value if category else None,
                                   limit=page.limit, after=page.after)
    return page_of([case_read(c) for c in found], page.limit, key=lambda c: c.id)


@router.get("/cases/{case_id}", response_model=CaseRead,
            summary="查询监测对象（含措施、认定步骤、历史）/ read a case with measures and history")
async def get_case(case_id: str, tx: TxDep, principal: Reader, response: Response) -> CaseRead:
    case = await _visible(tx, principal, case_id)
    response.headers["ETag"] = etag(case.version)
    return case_read(
        case,
        measures=[MeasureRead.model_validate(m, from_attributes=True)
                  for m in await cases.measures_of(tx, case.id)],
        steps=[StepRead.model_validate(s, from_attributes=True)
               for s in await alerts.steps_of(tx, case.alert_id)],
        elimination_steps=[StepRead.model_validate(s, from_attributes=True)
                           for s in await cases.steps_of(tx, case.id)],
        history=[HistoryItem.model_validate(h) for h in await cases.history(tx, case)])


@router.post("/cases/{case_id}/measures", status_code=201, response_model=MeasureRead,
             summary="登记帮扶措施 / record an assistance measure")
async def add_measure(case_id: str, body: MeasureCreate, tx: TxDep,
                      principal: Writer) -> MeasureRead:
    case = await _visible(tx, principal, case_id, lock=True)
    measure = await cases.add_measure(tx, case=case, kind=body.kind.value,
                                      description=body.description, started_on=body.started_on)
    return MeasureRead.model_validate(measure, from_attributes=True)


@router.post("/cases/{case_id}/steps", status_code=201, response_model=StepRead,
             summary="记录风险消除程序步骤 / record a step of the elimination procedure",
             description="入户核实、村级评议、公示（起止日期，不少于 min_notice_days 天）、乡镇审核、"
                         "县级审定；区域规则要求县级审定时，风险消除前须有 county_approval 步骤。")
async def record_case_step(case_id: str, body: StepCreate, tx: TxDep,
                           principal: Writer) -> StepRead:
    case = await _visible(tx, principal, case_id, lock=True)
    step = await cases.record_step(tx, case=case, step=body.step.value,
                                   decided_on=body.decided_on, note=body.note,
                                   notice_from=body.notice_from, notice_to=body.notice_to)
    return StepRead.model_validate(step, from_attributes=True)


@router.post("/cases/{case_id}/eliminate", response_model=CaseRead,
             summary="风险消除 / risk eliminated",
             description="不满足时 422 并列出全部未满足条件：`income_below_line`（该年度最新人均纯收入"
                         "未高于监测线或无记录）、`guarantee_unmet`（每项一条，field 为保障项）、"
                         "`monitoring_period_too_short`、`no_measure`、`no_labor_capacity`"
                         "（无劳动能力且仅有兜底保障措施），以及区域规则要求时的 "
                         "`county_approval_required`。")
async def eliminate(case_id: str, body: EliminateCreate, tx: TxDep, principal: Writer,
                    response: Response) -> CaseRead:
    case = await _visible(tx, principal, case_id, lock=True)
    case = await cases.eliminate(tx, case=case, decided_on=body.decided_on, year=body.year)
    response.headers["ETag"] = etag(case.version)
    return case_read(case)
