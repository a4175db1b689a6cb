"""Routes for statistics, alerts, household benefits, rules and the public notice."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query, Response

from services.funds.api import disclosure_files
from services.funds.api.deps import Reader, Writer
from services.funds.api.schemas import AlertRead, RuleRead, RuleSet, yuanify
from services.funds.domain import alerts, disclosure, projection, reports, rules
from services.funds.domain.common import check_fiscal_year, today
from services.funds.domain.enums import AlertKind
from shared.errors import NotFound
from shared.web import (
    XLSX,
    Page,
    PageDep,
    TxDep,
    file_responses,
    page_of,
    service_router,
    writes_on_read,
)

router = service_router("funds", tags=["funds: reports 统计、预警、公示"])
RegionQuery = Annotated[str | None, Query(max_length=12)]
YearQuery = Annotated[int | None, Query(ge=2000, le=2100)]


@router.get("/stats", summary="资金统计与支出进度（按级次、类别、用途） / totals and progress")
async def stats(tx: TxDep, principal: Reader, region: RegionQuery = None,
                fiscal_year: YearQuery = None) -> dict:
    data = await reports.statistics(tx, region=principal.narrow(region), fiscal_year=fiscal_year)
    return yuanify(data)


@router.get("/alerts", response_model=Page[AlertRead],
            summary="资金预警（读取前按台账重新计算，新预警只发布一次） / alerts")
@writes_on_read
async def list_alerts(tx: TxDep, principal: Reader, page: PageDep, region: RegionQuery = None,
                      kind: AlertKind | None = None) -> Page:
    scope = principal.narrow(region)
    await alerts.refresh_alerts(tx, as_of=today(), region=scope)
    found = await alerts.list_alerts(tx, region=scope, kind=kind.value if kind else None,
                                     limit=page.limit, after=page.after)
    items = [AlertRead(**a.model_dump(), amount=a.amount_fen) for a in found]
    return page_of(items, page.limit, key=lambda a: a.id)


@router.get("/households/{household_id}/benefits",
            summary="农户受益情况：项目与到户资金 / what reached a household")
async def household_benefits(household_id: str, tx: TxDep, principal: Reader) -> dict:
    household = await projection.get_household(tx, household_id)
    if household is None:
        raise NotFound("农户")
    principal.ensure_visible(household.region_code, "农户")
    data = await reports.benefits(tx, household_id)
    data["in_registry"] = household.in_registry
    return yuanify(data)


@router.put("/rules/{fiscal_year}", response_model=RuleRead,
            summary="设置年度资金规则（滞留天数、乡审核、类别最低占比） / set the year's rule")
async def put_rule(fiscal_year: Annotated[int, Path(ge=2000, le=2100)], body: RuleSet,
                   tx: TxDep, principal: Writer) -> RuleRead:
    principal.ensure_writable(body.region_code)
    rule = await rules.set_rule(
        tx, fiscal_year=fiscal_year, region_code=body.region_code,
        stagnant_days=body.stagnant_days, require_township_review=body.require_township_review,
        min_shares={k.value: v for k, v in body.min_shares.items()},
        share_kinds=[k.value for k in body.share_kinds])
    return RuleRead.model_validate(rule, from_attributes=True)


@router.get("/rules/{fiscal_year}", response_model=list[RuleRead],
            summary="年度资金规则 / the year's rules")
async def get_rules(fiscal_year: Annotated[int, Path(ge=2000, le=2100)], tx: TxDep,
                    principal: Reader, region: RegionQuery = None) -> list[RuleRead]:
    found = await rules.list_rules(tx, fiscal_year=fiscal_year,
                                   region=principal.narrow(region))
    return [RuleRead.model_validate(r, from_attributes=True) for r in found]


@router.get("/disclosures",
            summary="公告公示（JSON/CSV/XLSX，不含个人信息） / public notice, no personal data",
            responses=file_responses("application/json", "text/csv", XLSX))
async def disclosures(tx: TxDep, principal: Reader, fiscal_year: Annotated[int, Query(
                          ge=2000, le=2100)], region: RegionQuery = None,
                      format: Literal["json", "csv", "xlsx"] = "json",
                      section: Literal["projects", "funds"] = "projects") -> Response:
    check_fiscal_year(fiscal_year)
    scope = principal.narrow(region)
    data = yuanify(await disclosure.disclosure(tx, region=scope, fiscal_year=fiscal_year))
    return disclosure_files.render(data, format=format, section=section)
