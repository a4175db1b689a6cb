"""Routes for assistance pairing (结对帮扶) and its coverage."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from services.tasks.api.schemas import Coverage, PairingBody, PairingRead, UncoveredHousehold
from services.tasks.domain import pairings
from shared.auth import Principal, require
from shared.web import Page, PageDep, TxDep, encode_cursor, etag, page_of, service_router

router = service_router("tasks", tags=["tasks: pairings 结对帮扶"])
Reader = Annotated[Principal, require("tasks:read")]
Writer = Annotated[Principal, require("tasks:write")]


def pairing_read(pairing) -> PairingRead:
    return PairingRead.model_validate(pairing, from_attributes=True)


@router.get("/pairings/coverage", response_model=Coverage,
            summary="未结对的贫困、返贫、监测户 / households still without a paired official")
async def coverage(tx: TxDep, principal: Reader, page: PageDep,
                   region: Annotated[str | None, Query(max_length=12)] = None) -> Coverage:
    items, totals = await pairings.coverage(tx, region=principal.narrow(region), limit=page.limit,
                                            after=page.after)
    more = len(items) > page.limit
    items = items[:page.limit]
    return Coverage(
        items=[UncoveredHousehold.model_validate(h, from_attributes=True) for h in items],
        next_cursor=encode_cursor(items[-1].household_id) if more and items else None, **totals)


@router.put("/pairings/{household_id}", response_model=PairingRead,
            summary="结对帮扶 / pair a household with an official")
async def assign(household_id: str, body: PairingBody, tx: TxDep, principal: Writer,
                 response: Response) -> PairingRead:
    view = await pairings.household(tx, household_id)
    principal.ensure_visible(view.region_code, "贫困户")
    pairing = await pairings.assign(tx, view=view, official_id=body.official_id)
    response.headers["ETag"] = etag(pairing.version)
    return pairing_read(pairing)


@router.get("/pairings/{household_id}", response_model=PairingRead,
            summary="查询结对关系 / read a household's pairing")
async def get_pairing(household_id: str, tx: TxDep, principal: Reader,
                      response: Response) -> PairingRead:
    pairing = await pairings.get_pairing(tx, household_id)
    principal.ensure_visible(pairing.region_code, "结对关系")
    response.headers["ETag"] = etag(pairing.version)
    return pairing_read(pairing)


@router.get("/pairings", response_model=Page[PairingRead], summary="结对关系 / list pairings")
async def list_pairings(tx: TxDep, principal: Reader, page: PageDep,
                        official_id: Annotated[str | None, Query(max_length=36)] = None,
                        region: Annotated[str | None, Query(max_length=12)] = None) -> Page:
    found = await pairings.list_pairings(tx, region=principal.narrow(region),
                                         official_id=official_id, limit=page.limit,
                                         after=page.after)
    return page_of([pairing_read(p) for p in found], page.limit, key=lambda p: p.household_id)
