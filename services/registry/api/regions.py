"""Routes for regions (行政区划) and village attributes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

from services.registry.api.schemas import RegionCreate, RegionRead, RegionUpdate, YearBody
from services.registry.domain import regions
from shared.auth import Principal, require
from shared.web import Page, PageDep, TxDep, check_if_match, etag, page_of, service_router

router = service_router("registry", tags=["registry: regions 行政区划"])
Reader = Annotated[Principal, require("registry:read")]
Writer = Annotated[Principal, require("registry:write")]


def _read(region) -> RegionRead:
    return RegionRead.model_validate(region, from_attributes=True)


@router.post("/regions", status_code=201, response_model=RegionRead,
             summary="新建行政区划 / create a region")
async def create_region(body: RegionCreate, tx: TxDep, principal: Writer,
                        response: Response) -> RegionRead:
    principal.ensure_writable(body.code)
    region = await regions.create_region(tx, code=body.code, name=body.name,
                                         parent_code=body.parent_code)
    response.headers["ETag"] = etag(region.version)
    response.headers["Location"] = f"/api/v1/registry/regions/{region.code}"
    return _read(region)


@router.get("/regions/{code}", response_model=RegionRead, summary="查询行政区划 / read a region")
async def get_region(code: str, tx: TxDep, principal: Reader, response: Response) -> RegionRead:
    principal.ensure_visible(code, "行政区划")
    region = await regions.get_region(tx, code)
    response.headers["ETag"] = etag(region.version)
    return _read(region)


@router.get("/regions", response_model=Page[RegionRead],
            summary="下级区划列表 / list regions under a parent")
async def list_regions(tx: TxDep, principal: Reader, page: PageDep,
                       parent: Annotated[str | None, Query(max_length=12)] = None) -> Page:
    scope = principal.region
    if parent and principal.sees(parent):
        scope = parent
    found = await regions.list_children(tx, parent=parent, within=scope, limit=page.limit,
                                        after=page.after)
    return page_of([_read(r) for r in found], page.limit, key=lambda r: r.code)


@router.patch("/regions/{code}", response_model=RegionRead,
              summary="村属性：贫困村、农村户籍人口 / village attributes (If-Match)")
async def update_region(code: str, body: RegionUpdate, tx: TxDep, principal: Writer,
                        request: Request, response: Response) -> RegionRead:
    principal.ensure_visible(code, "行政区划")
    region = await regions.get_region(tx, code, for_update=True)
    check_if_match(request, region.version)
    region = await regions.update_village(tx, region, changes=body.model_dump(exclude_unset=True))
    response.headers["ETag"] = etag(region.version)
    return _read(region)


@router.post("/regions/{code}/exit", response_model=RegionRead,
             summary="贫困村出列 / village exit (poverty incidence below the threshold)")
async def exit_region(code: str, body: YearBody, tx: TxDep, principal: Writer,
                      response: Response) -> RegionRead:
    principal.ensure_visible(code, "行政区划")
    region = await regions.exit_village(tx, code=code, year=body.year)
    response.headers["ETag"] = etag(region.version)
    return _read(region)
