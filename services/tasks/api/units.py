"""Routes for units (单位) and officials (干部)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from services.tasks.api.schemas import OfficialCreate, OfficialRead, UnitCreate, UnitRead
from services.tasks.domain import units
from shared.auth import Principal, require
from shared.web import Page, PageDep, TxDep, page_of, service_router

router = service_router("tasks", tags=["tasks: units 单位与干部"])
Reader = Annotated[Principal, require("tasks:read")]
Writer = Annotated[Principal, require("tasks:write")]


def unit_read(unit) -> UnitRead:
    return UnitRead.model_validate(unit, from_attributes=True)


def official_read(official) -> OfficialRead:
    return OfficialRead.model_validate(official, from_attributes=True)


@router.post("/units", status_code=201, response_model=UnitRead, summary="新建单位 / create a unit")
async def create_unit(body: UnitCreate, tx: TxDep, principal: Writer) -> UnitRead:
    principal.ensure_writable(body.region_code)
    return unit_read(await units.create_unit(tx, name=body.name, region_code=body.region_code))


@router.get("/units/{unit_id}", response_model=UnitRead, summary="查询单位 / read a unit")
async def get_unit(unit_id: str, tx: TxDep, principal: Reader) -> UnitRead:
    unit = await units.get_unit(tx, unit_id)
    principal.ensure_visible(unit.region_code, "单位")
    return unit_read(unit)


@router.get("/units", response_model=Page[UnitRead], summary="单位列表 / list units")
async def list_units(tx: TxDep, principal: Reader, page: PageDep,
                     region: Annotated[str | None, Query(max_length=12)] = None) -> Page:
    found = await units.list_units(tx, region=principal.narrow(region), limit=page.limit,
                                   after=page.after)
    return page_of([unit_read(u) for u in found], page.limit, key=lambda u: u.id)


@router.post("/officials", status_code=201, response_model=OfficialRead,
             summary="新建干部 / create an official")
async def create_official(body: OfficialCreate, tx: TxDep, principal: Writer) -> OfficialRead:
    unit = await units.known_unit(tx, body.unit_id)
    principal.ensure_writable(unit.region_code)
    official = await units.create_official(tx, name=body.name, title=body.title,
                                           unit_id=body.unit_id)
    return official_read(official)


@router.get("/officials/{official_id}", response_model=OfficialRead,
            summary="查询干部 / read an official")
async def get_official(official_id: str, tx: TxDep, principal: Reader) -> OfficialRead:
    official = await units.get_official(tx, official_id)
    principal.ensure_visible(official.region_code, "干部")
    return official_read(official)
