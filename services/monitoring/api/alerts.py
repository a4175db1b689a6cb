"""Routes for alerts (预警) and the identification procedure (认定程序)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from services.monitoring.api.cases import case_read
from services.monitoring.api.deps import Reader, Writer
from services.monitoring.api.schemas import (
    AlertRead,
    CaseRead,
    DismissCreate,
    EnrollCreate,
    StepCreate,
    StepRead,
)
from services.monitoring.domain import alerts, calendar, cases
from services.monitoring.domain.enums import AlertStatus
from shared.tx import Tx
from shared.web import Page, PageDep, TxDep, etag, page_of, service_router

router = service_router("monitoring", tags=["monitoring: alerts 预警与认定"])


def alert_read(alert, steps=None) -> AlertRead:
    return AlertRead.model_validate({
        **alert.model_dump(), "overdue": alerts.is_overdue(alert, calendar.today()),
        "steps": [StepRead.model_validate(s, from_attributes=True) for s in steps]
        if steps is not None else None})


async def _visible(tx: Tx, principal, alert_id: str, *, lock: bool = False):
    alert = await alerts.get_alert(tx, alert_id, lock=lock)
    principal.ensure_visible(alert.region_code, "预警")
    return alert


@router.get("/alerts", response_model=Page[AlertRead],
            summary="预警列表（逾期最久的在前）/ alerts, the most overdue first",
            description="`due_on` 为预警日加认定时限（默认 15 天，按年度和区域规则配置）；"
                        "`overdue` 按北京时间今日计算。")
async def list_alerts(tx: TxDep, principal: Reader, page: PageDep,
                      region: Annotated[str | None, Query(max_length=12)] = None,
                      status: AlertStatus | None = None, overdue: bool | None = None) -> Page:
    found = await alerts.list_alerts(tx, within=principal.narrow(region),
                                     status=status.value if status else None, overdue=overdue,
                                     limit=page.limit, after=page.after)
    return page_of([alert_read(a) for a in found], page.limit,
                   key=lambda a: f"{a.due_on.isoformat()}|{a.id}")


@router.get("/alerts/{alert_id}", response_model=AlertRead, summary="查询预警 / read an alert")
async def get_alert(alert_id: str, tx: TxDep, principal: Reader,
                    response: Response) -> AlertRead:
    alert = await _visible(tx, principal, alert_id)
    response.headers["ETag"] = etag(alert.version)
    return alert_read(alert, await alerts.steps_of(tx, alert.id))


@router.post("/alerts/{alert_id}/steps", status_code=201, response_model=StepRead,
             summary="记录认定步骤 / record a step (入户核实, 信息比对, 村级评议, 公示, 乡镇审核, 县级审定)",
             description="公示（public_notice）须给出起止日期，天数不少于规则的 min_notice_days（默认 5）。")
async def record_step(alert_id: str, body: StepCreate, tx: TxDep, principal: Writer) -> StepRead:
    alert = await _visible(tx, principal, alert_id, lock=True)
    step = await alerts.record_step(tx, alert=alert, step=body.step.value,
                                    decided_on=body.decided_on, note=body.note,
                                    notice_from=body.notice_from, notice_to=body.notice_to)
    return StepRead.model_validate(step, from_attributes=True)


@router.post("/alerts/{alert_id}/enroll", status_code=201, response_model=CaseRead,
             summary="纳入监测 / enrol the household as a monitored case",
             description="预警须为 open（否则 409 `alert_closed`）；区域规则要求时须先有县级审定步骤"
                         "（否则 422 `county_approval_required`）。")
async def enroll(alert_id: str, body: EnrollCreate, tx: TxDep, principal: Writer,
                 response: Response) -> CaseRead:
    alert = await _visible(tx, principal, alert_id, lock=True)
    case = await cases.enroll(tx, alert=alert, category=body.category.value,
                              risk_types=[r.value for r in body.risk_types],
                              decided_on=body.decided_on)
    response.headers["ETag"] = etag(case.version)
    response.headers["Location"] = f"/api/v1/monitoring/cases/{case.id}"
    return case_read(case)


@router.post("/alerts/{alert_id}/dismiss", response_model=AlertRead,
             summary="核实后不纳入 / dismiss after verification")
async def dismiss(alert_id: str, body: DismissCreate, tx: TxDep, principal: Writer,
                  response: Response) -> AlertRead:
    alert = await _visible(tx, principal, alert_id, lock=True)
    alert = await alerts.dismiss(tx, alert=alert, reason=body.reason,
                                 decided_on=body.decided_on or calendar.today())
    response.headers["ETag"] = etag(alert.version)
    return alert_read(alert)
