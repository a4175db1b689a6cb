"""Routes for the rectification ledger (整改台账)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

from services.tasks.api.schemas import (
    CloseBody,
    RectificationCreate,
    RectificationRead,
    RectificationUpdate,
)
from services.tasks.db.tables import Rectification
from services.tasks.domain import rectifications
from services.tasks.domain.calendar import today
from services.tasks.domain.enums import RectificationStatus
from shared.auth import Principal, require
from shared.tx import Tx
from shared.web import Page, PageDep, TxDep, check_if_match, etag, page_of, service_router

router = service_router("tasks", tags=["tasks: rectifications 整改台账"])
Reader = Annotated[Principal, require("tasks:read")]
Writer = Annotated[Principal, require("tasks:write")]


def rect_read(item: Rectification) -> RectificationRead:
    overdue = item.status == RectificationStatus.open.value and item.due_on < today()
    return RectificationRead(
        id=item.id, title=item.title, source=item.source, region_code=item.region_code,
        responsible_unit_id=item.responsible_unit_id, responsible_person=item.responsible_person,
        due_on=item.due_on, status=item.status, overdue=overdue, evidence=item.evidence,
        closed_on=item.closed_on, version=item.version)


def _respond(item: Rectification, response: Response) -> RectificationRead:
    response.headers["ETag"] = etag(item.version)
    return rect_read(item)


async def _writable(tx: Tx, item_id: str, principal: Principal, request: Request) -> Rectification:
    item = await rectifications.get_rectification(tx, item_id, lock=True)
    principal.ensure_visible(item.region_code, "整改事项")
    check_if_match(request, item.version)
    return item


@router.post("/rectifications", status_code=201, response_model=RectificationRead,
             summary="整改立项 / open a rectification")
async def open_rectification(body: RectificationCreate, tx: TxDep, principal: Writer,
                             response: Response) -> RectificationRead:
    principal.ensure_writable(body.region_code)
    item = await rectifications.open_rectification(
        tx, title=body.title, source=body.source.value, region_code=body.region_code,
        responsible_unit_id=body.responsible_unit_id, responsible_person=body.responsible_person,
        due_on=body.due_on)
    response.headers["Location"] = f"/api/v1/tasks/rectifications/{item.id}"
    return _respond(item, response)


@router.get("/rectifications/{item_id}", response_model=RectificationRead,
            summary="查询整改事项 / read a rectification")
async def get_rectification(item_id: str, tx: TxDep, principal: Reader,
                            response: Response) -> RectificationRead:
    item = await rectifications.get_rectification(tx, item_id)
    principal.ensure_visible(item.region_code, "整改事项")
    return _respond(item, response)


@router.get("/rectifications", response_model=Page[RectificationRead],
            summary="整改台账 / the rectification ledger")
async def list_rectifications(tx: TxDep, principal: Reader, page: PageDep,
                              region: Annotated[str | None, Query(max_length=12)] = None,
                              status: RectificationStatus | None = None,
                              overdue: bool | None = None) -> Page:
    found = await rectifications.search(tx, region=principal.narrow(region),
                                        status=status.value if status else None, overdue=overdue,
                                        today=today(), limit=page.limit, after=page.after)
    return page_of([rect_read(r) for r in found], page.limit, key=lambda r: r.id)


@router.patch("/rectifications/{item_id}", response_model=RectificationRead,
              summary="指定责任人或调整时限 / name the person or move the deadline")
async def update_rectification(item_id: str, body: RectificationUpdate, tx: TxDep,
                               principal: Writer, request: Request,
                               response: Response) -> RectificationRead:
    item = await _writable(tx, item_id, principal, request)
    await rectifications.update_rectification(tx, item=item,
                                              responsible_person=body.responsible_person,
                                              due_on=body.due_on)
    return _respond(item, response)


@router.post("/rectifications/{item_id}/close", response_model=RectificationRead,
             summary="整改销号 / close with evidence")
async def close_rectification(item_id: str, body: CloseBody, tx: TxDep, principal: Writer,
                              request: Request, response: Response) -> RectificationRead:
    item = await _writable(tx, item_id, principal, request)
    await rectifications.close_rectification(tx, item=item, evidence=body.evidence,
                                             closed_on=body.closed_on)
    return _respond(item, response)
