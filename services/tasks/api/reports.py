"""Routes for the scoreboard (考核) and the time-limit rules."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query, Response

from services.tasks.api.schemas import RuleBody, RuleRead, Scoreboard, ScoreRow, ScoreTotals
from services.tasks.domain import rules, scoreboard
from services.tasks.domain.calendar import today
from shared.auth import Principal, require
from shared.errors import Unprocessable
from shared.regions import is_region_prefix
from shared.web import TxDep, service_router

router = service_router("tasks", tags=["tasks: scoreboard 考核"])
Reader = Annotated[Principal, require("tasks:read")]
Writer = Annotated[Principal, require("tasks:write")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/scoreboard", response_model=Scoreboard,
            responses={200: {"content": {XLSX: {}}}},
            summary="按牵头单位考核 / per-unit scoreboard (json or xlsx)")
async def get_scoreboard(tx: TxDep, principal: Reader,
                         region: Annotated[str | None, Query(max_length=12)] = None,
                         format: Literal["json", "xlsx"] = "json") -> Scoreboard | Response:
    scope, as_of = principal.narrow(region), today()
    rows = await scoreboard.scoreboard(tx, region=scope, today=as_of)
    totals = await scoreboard.region_totals(tx, region=scope, today=as_of)
    if format == "xlsx":
        return Response(scoreboard.to_xlsx(rows, totals, region=scope, today=as_of),
                        media_type=XLSX,
                        headers={"Content-Disposition":
                                 f'attachment; filename="scoreboard-{scope or "all"}.xlsx"'})
    return Scoreboard(region=scope, as_of=as_of, items=[ScoreRow(**r) for r in rows],
                      totals=ScoreTotals(**totals))


@router.put("/rules/{year}", response_model=RuleRead,
            summary="时限规则 / time limits for a year and region prefix")
async def put_rule(year: Annotated[int, Path(ge=2000, le=2100)], body: RuleBody,
                   tx: TxDep, principal: Writer) -> RuleRead:
    if body.region_code:
        principal.ensure_writable(body.region_code)
    elif principal.region:
        principal.ensure_writable("")
    rule = await rules.set_rule(tx, year=year, region_prefix=body.region_code,
                                case_task_due_days=body.case_task_due_days,
                                rectification_due_days=body.rectification_due_days)
    return RuleRead.model_validate(rule, from_attributes=True)


@router.get("/rules/{year}", response_model=RuleRead,
            summary="某区域适用的时限 / the limits that apply to a region")
async def get_rule(year: Annotated[int, Path(ge=2000, le=2100)], tx: TxDep, principal: Reader,
                   region: Annotated[str, Query(max_length=12)] = "") -> RuleRead:
    if region and not is_region_prefix(region):
        raise Unprocessable("invalid_region_code", "区划代码无效 (invalid region code)",
                            field="region")
    principal.ensure_visible(region, "区域")
    limits = await rules.limits_for(tx, year=year, region_code=region)
    return RuleRead(year=year, region_prefix=limits.region_prefix or "",
                    case_task_due_days=limits.case_task_due_days,
                    rectification_due_days=limits.rectification_due_days)
