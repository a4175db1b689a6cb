"""Fund sources (资金来源 / 下达文件)."""

from __future__ import annotations

import sqlalchemy as sa

from services.funds.db.tables import Allocation, AllocationBalance, Source
from services.funds.domain.common import check_fiscal_year
from shared.errors import NotFound
from shared.events.funds import SourceRegistered
from shared.ids import new_id
from shared.tx import Tx


async def register_source(tx: Tx, *, name: str, level: str, kind: str, fiscal_year: int,
                          document_no: str, region_code: str, amount_fen: int,
                          permitted_categories: list[str], nature: str | None = None,
                          expenditure_class: str | None = None) -> Source:
    check_fiscal_year(fiscal_year)
    source = Source(id=new_id(), name=name, level=level, kind=kind, fiscal_year=fiscal_year,
                    document_no=document_no, region_code=region_code, amount_fen=amount_fen,
                    permitted_categories=sorted(set(permitted_categories)), nature=nature,
                    expenditure_class=expenditure_class, created_by=tx.actor)
    tx.session.add(source)
    await tx.session.flush()
    tx.emit(SourceRegistered(source_id=source.id, region_code=region_code, level=level,
                             kind=kind, fiscal_year=fiscal_year, amount_fen=amount_fen,
                             permitted_categories=source.permitted_categories),
            subject=source.id, region_code=region_code)
    tx.audit("source.register", "source", source.id, region_code=region_code,
             after=source.model_dump(mode="json"))
    return source


async def get_source(tx: Tx, source_id: str, *, lock: bool = False) -> Source:
    source = await tx.session.get(Source, source_id, with_for_update=lock,
                                  populate_existing=lock)
    if source is None:
        raise NotFound("资金来源")
    return source


async def allocated_fen(tx: Tx, source_id: str) -> int:
    """Sum of the source's allocations, straight from the ledger."""
    total = await tx.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Allocation.amount_fen), 0))
        .where(Allocation.source_id == source_id))
    return int(total or 0)


async def totals(tx: Tx, source_ids: list[str]) -> dict[str, tuple[int, int]]:
    """(allocated, net disbursed) per source, in one aggregate query."""
    rows = (await tx.session.execute(
        sa.select(Allocation.source_id, sa.func.sum(Allocation.amount_fen),
                  sa.func.sum(AllocationBalance.disbursed_fen))
        .join(AllocationBalance, AllocationBalance.allocation_id == Allocation.id)
        .where(Allocation.source_id.in_(source_ids))
        .group_by(Allocation.source_id))).all()
    found = {r[0]: (int(r[1]), int(r[2])) for r in rows}
    return {i: found.get(i, (0, 0)) for i in source_ids}


async def list_sources(tx: Tx, *, region: str, fiscal_year: int | None, limit: int,
                       after: str | None) -> list[Source]:
    query = sa.select(Source).where(Source.region_code.startswith(region)).order_by(Source.id)
    if fiscal_year is not None:
        query = query.where(Source.fiscal_year == fiscal_year)
    if after:
        query = query.where(Source.id > after)
    return list((await tx.session.execute(query.limit(limit + 1))).scalars().all())
