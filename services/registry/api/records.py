"""Routes for a household's yearly income, guarantees, exit, relapse and status history."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Response

from services.registry.api.households import household_read, writable_household
from services.registry.api.schemas import HouseholdRead, YearBody
from services.registry.api.schemas_records import (
    GuaranteesIn,
    GuaranteesRead,
    IncomeIn,
    IncomeRead,
    RelapseIn,
    StatsRead,
    StatusChangeRead,
)
from services.registry.domain import households, lifecycle, records, search
from services.registry.domain.records import INCOME_PARTS
from shared.auth import Principal, require
from shared.tx import Tx
from shared.web import TxDep, etag, service_router

router = service_router("registry", tags=["registry: household records 收入、保障与脱贫"])
Reader = Annotated[Principal, require("registry:read")]
Writer = Annotated[Principal, require("registry:write")]
YearPath = Annotated[int, Path(ge=2013, le=2100)]


async def visible_household(tx: Tx, household_id: str, principal: Principal):
    household, members = await households.get_household(tx, household_id)
    principal.ensure_visible(household.region_code, "贫困户")
    return household, members


@router.put("/households/{household_id}/incomes/{year}", response_model=IncomeRead,
            summary="登记年度收入（每年一条，可替换）/ record a year's income")
async def put_income(household_id: str, year: YearPath, body: IncomeIn, tx: TxDep,
                     principal: Writer, response: Response) -> IncomeRead:
    household = await writable_household(tx, household_id, principal)
    row, created = await records.record_income(
        tx, household, year=year, parts_fen={k: getattr(body, k) for k in INCOME_PARTS})
    response.status_code = 201 if created else 200
    return IncomeRead.of(row)


@router.get("/households/{household_id}/incomes", response_model=list[IncomeRead],
            summary="历年收入 / incomes by year")
async def list_incomes(household_id: str, tx: TxDep, principal: Reader) -> list[IncomeRead]:
    await visible_household(tx, household_id, principal)
    return [IncomeRead.of(r) for r in await records.incomes(tx, household_id)]


def _guarantees_read(row) -> GuaranteesRead:
    return GuaranteesRead(**{k: getattr(row, k) for k in GuaranteesRead.model_fields
                             if k != "unmet"}, unmet=records.unmet(row))


@router.put("/households/{household_id}/guarantees", response_model=GuaranteesRead,
            summary="两不愁三保障及饮水安全评估（保留历史，最新为准）/ assess the guarantees")
async def put_guarantees(household_id: str, body: GuaranteesIn, tx: TxDep,
                         principal: Writer) -> GuaranteesRead:
    household = await writable_household(tx, household_id, principal)
    row = await records.assess_guarantees(
        tx, household, assessed_on=body.assessed_on,
        values=body.model_dump(include=set(records.GUARANTEES)))
    return _guarantees_read(row)


@router.get("/households/{household_id}/guarantees", response_model=list[GuaranteesRead],
            summary="评估历史（最新在前）/ every assessment, newest first")
async def list_guarantees(household_id: str, tx: TxDep,
                          principal: Reader) -> list[GuaranteesRead]:
    await visible_household(tx, household_id, principal)
    return [_guarantees_read(r) for r in await records.assessments(tx, household_id)]


@router.post("/households/{household_id}/exit", response_model=HouseholdRead,
             summary="脱贫：收入超过当年扶贫标准且六项保障全部达标 / exit poverty")
async def exit_household(household_id: str, body: YearBody, tx: TxDep, principal: Writer,
                         response: Response) -> HouseholdRead:
    household = await writable_household(tx, household_id, principal)
    await lifecycle.exit_household(tx, household, year=body.year)
    _, members = await households.get_household(tx, household_id)
    response.headers["ETag"] = etag(household.version)
    return household_read(tx, household, members, principal=principal)


@router.post("/households/{household_id}/relapse", response_model=HouseholdRead,
             summary="返贫（仅已脱贫户）/ relapse of an exited household")
async def relapse_household(household_id: str, body: RelapseIn, tx: TxDep, principal: Writer,
                            response: Response) -> HouseholdRead:
    household = await writable_household(tx, household_id, principal)
    await lifecycle.relapse_household(tx, household, reason=body.reason.value,
                                      occurred_on=body.occurred_on)
    _, members = await households.get_household(tx, household_id)
    response.headers["ETag"] = etag(household.version)
    return household_read(tx, household, members, principal=principal)


@router.get("/households/{household_id}/history", response_model=list[StatusChangeRead],
            summary="脱贫状态变更历史 / status history, oldest first")
async def status_history(household_id: str, tx: TxDep,
                         principal: Reader) -> list[StatusChangeRead]:
    await visible_household(tx, household_id, principal)
    return [StatusChangeRead.model_validate(r, from_attributes=True)
            for r in await lifecycle.history(tx, household_id)]


@router.get("/stats", response_model=StatsRead,
            summary="按状态、属性、主要致贫原因统计户数与人数；各村贫困发生率 / statistics")
async def stats(tx: TxDep, principal: Reader,
                region: Annotated[str | None, Query(max_length=12)] = None) -> StatsRead:
    return StatsRead.model_validate(await search.stats(tx, region=principal.narrow(region)))
