"""Routes for sweeps (集中排查) and statistics."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from services.monitoring.api.deps import Reader, Writer
from services.monitoring.api.schemas import SweepCreate, SweepRead
from services.monitoring.domain import stats, sweeps
from shared.web import TxDep, service_router

router = service_router("monitoring", tags=["monitoring: sweeps and stats 排查与统计"])


@router.post("/sweeps", response_model=SweepRead,
             summary="集中排查 / evaluate every household of a region against the year's line",
             description="一条集合化 SQL：该年度最新人均纯收入低于监测线且无未结预警的户各生成一条预警；"
                         "重复执行不会再生成 (idempotent)。区域超出调用方范围：403。")
async def run_sweep(body: SweepCreate, tx: TxDep, principal: Writer) -> SweepRead:
    principal.ensure_writable(body.region)
    result = await sweeps.sweep(tx, year=body.year, region=body.region)
    return SweepRead(evaluated=result.evaluated, alerts_raised=result.alerts_raised)


@router.get("/stats", summary="统计 / counts of alerts and cases by status, category, risk type")
async def get_stats(tx: TxDep, principal: Reader,
                    region: Annotated[str | None, Query(max_length=12)] = None) -> dict:
    return await stats.stats(tx, within=principal.narrow(region))
