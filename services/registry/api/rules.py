"""Routes for rules kept as data: poverty lines (扶贫标准) and village exit thresholds."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from services.registry.api.schemas_records import (
    EffectivePovertyLine,
    ExitThresholdIn,
    ExitThresholdRead,
    PovertyLineIn,
    PovertyLineRead,
    format_percent,
)
from services.registry.domain import rules
from shared.auth import Principal, require
from shared.errors import NotFound
from shared.web import TxDep, service_router

router = service_router("registry", tags=["registry: rules 扶贫标准与出列阈值"])
Reader = Annotated[Principal, require("registry:read")]
Writer = Annotated[Principal, require("registry:write")]
YearPath = Annotated[int, Path(ge=2013, le=2100)]
NATIONAL = "national"
"""Path alias for the national rule, whose region prefix is ""."""


@router.put("/poverty-lines/{year}", response_model=PovertyLineRead,
            summary="设置年度扶贫标准 / set a year's poverty line (longest prefix wins)")
async def put_poverty_line(year: YearPath, body: PovertyLineIn, tx: TxDep,
                           principal: Writer) -> PovertyLineRead:
    principal.ensure_writable(body.region_code)
    line = await rules.set_poverty_line(tx, year=year, region_code=body.region_code,
                                        amount_fen=body.amount)
    return PovertyLineRead(year=line.year, region_code=line.region_prefix, amount=line.amount_fen,
                           version=line.version, updated_at=line.updated_at)


@router.get("/poverty-lines/{year}", response_model=EffectivePovertyLine,
            summary="查询某区划某年生效的扶贫标准 / the line in force for a region and year")
async def get_poverty_line(year: YearPath, tx: TxDep, principal: Reader,
                           region: Annotated[str, Query(max_length=12)] = "") -> EffectivePovertyLine:
    line = await rules.poverty_line(tx, year=year, region_code=region)
    if line is None or line.matched_prefix is None:
        raise NotFound("该年度扶贫标准")
    return EffectivePovertyLine(year=year, region_code=region, matched_prefix=line.matched_prefix,
                                amount=line.value)


def _prefix(region_code: str) -> str:
    return "" if region_code == NATIONAL else region_code


@router.put("/exit-thresholds/{region_code}", response_model=ExitThresholdRead,
            summary="设置贫困村出列阈值（贫困发生率 %）/ set the village exit threshold; "
                    "`national` for the whole country")
async def put_exit_threshold(region_code: Annotated[str, Path(max_length=12)],
                             body: ExitThresholdIn, tx: TxDep,
                             principal: Writer) -> ExitThresholdRead:
    prefix = _prefix(region_code)
    principal.ensure_writable(prefix)
    row = await rules.set_exit_threshold(tx, region_code=prefix, threshold_bp=body.threshold_percent)
    return ExitThresholdRead(region_code=prefix, matched_prefix=row.region_prefix,
                             threshold_percent=format_percent(row.threshold_bp))


@router.get("/exit-thresholds/{region_code}", response_model=ExitThresholdRead,
            summary="查询区划生效的出列阈值 / the exit threshold in force for a region")
async def get_exit_threshold(region_code: Annotated[str, Path(max_length=12)], tx: TxDep,
                             principal: Reader) -> ExitThresholdRead:
    prefix = _prefix(region_code)
    found = await rules.exit_threshold(tx, region_code=prefix)
    return ExitThresholdRead(region_code=prefix, matched_prefix=found.matched_prefix,
                             threshold_percent=format_percent(found.value))

