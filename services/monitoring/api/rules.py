"""Routes for monitoring lines (监测线) and procedure rules, by year and region prefix."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Response

from services.monitoring.api.deps import Reader, Writer
from services.monitoring.api.schemas import LineRead, LineSet, RuleRead, RuleSet
from services.monitoring.domain import rules
from shared.web import Page, TxDep, etag, service_router

router = service_router("monitoring", tags=["monitoring: rules 监测线与规则"])
YearPath = Annotated[int, Path(ge=2013, le=2100)]
RegionQuery = Annotated[str, Query(max_length=12, description="区划代码 / region code")]


def _line(line) -> LineRead:
    return LineRead(year=line.year, region_code=line.region_code, amount=line.amount_fen,
                    version=line.version)


@router.put("/lines/{year}", response_model=LineRead,
            summary="设置监测线 / set the monitoring line of a year for a region prefix",
            description="最长前缀优先；\"\" 为全国 (longest prefix wins; \"\" is national). "
                        "2021 年全国参照 6000 元（扶贫标准的 1.5 倍）；2022 年起由各省确定。")
async def put_line(year: YearPath, body: LineSet, tx: TxDep, principal: Writer,
                   response: Response) -> LineRead:
    principal.ensure_writable(body.region_code)
    line = await rules.set_line(tx, year=year, region_code=body.region_code,
                                amount_fen=body.amount)
    response.headers["ETag"] = etag(line.version)
    return _line(line)


@router.get("/lines/{year}", response_model=Page[LineRead],
            summary="某年度监测线 / the lines of a year that apply to a region")
async def get_lines(year: YearPath, tx: TxDep, principal: Reader,
                    region: RegionQuery | None = None) -> Page:
    within = principal.narrow(region)
    found = await rules.lines_of_year(tx, year=year, within=within)
    return Page(items=[_line(line) for line in found])


@router.get("/lines/{year}/effective", response_model=LineRead,
            summary="某地适用的监测线 / the line in force for a region (longest prefix)")
async def effective_line(year: YearPath, tx: TxDep, principal: Reader,
                         region: RegionQuery) -> LineRead:
    principal.ensure_visible(region, "区域")
    return _line(await rules.require_line(tx, year=year, region_code=region))


@router.put("/rules/{year}", response_model=RuleRead,
            summary="设置监测规则 / set the procedure rule of a year for a region prefix",
            description="认定时限 due_days（默认 15）、按工作日 working_days（默认否，"
                        "部分省份 20 个工作日）、最短监测期 min_monitoring_months（默认 6）、"
                        "纳入须县级审定 county_approval_required（默认否）、公示天数 "
                        "min_notice_days（默认 5）。省略的字段取默认值；最长前缀优先。")
async def put_rule(year: YearPath, body: RuleSet, tx: TxDep, principal: Writer,
                   response: Response) -> RuleRead:
    principal.ensure_writable(body.region_code)
    values = rules.RuleValues(
        due_days=body.due_days, working_days=body.working_days,
        min_monitoring_months=body.min_monitoring_months,
        county_approval_required=body.county_approval_required,
        min_notice_days=body.min_notice_days)
    rule = await rules.set_rule(tx, year=year, region_code=body.region_code, values=values)
    response.headers["ETag"] = etag(rule.version)
    return RuleRead(year=year, region_code=rule.region_code, version=rule.version,
                    **values.__dict__)


@router.get("/rules/{year}", response_model=RuleRead,
            summary="某地适用的监测规则 / the rule in force for a region (defaults when none)")
async def get_rule(year: YearPath, tx: TxDep, principal: Reader,
                   region: RegionQuery | None = None) -> RuleRead:
    region = principal.region if region is None else region
    principal.ensure_visible(region, "区域")
    prefix, values = await rules.effective_rule(tx, year=year, region_code=region)
    return RuleRead(year=year, region_code=prefix, **values.__dict__)
