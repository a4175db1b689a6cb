"""Routes for fund sources (资金来源/下达文件) and their flow (资金流向)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from services.funds.api.deps import Reader, Writer
from services.funds.api.schemas import SourceCreate, SourceRead, yuanify
from services.funds.db.tables import Source
from services.funds.domain import reports, sources
from shared.tx import Tx
from shared.web import Page, PageDep, TxDep, page_of, service_router

router = service_router("funds", tags=["funds: sources 资金来源"])


async def source_reads(tx: Tx, found: list[Source]) -> list[SourceRead]:
    """Read models with computed totals, for any number of sources in one query."""
    sums = await sources.totals(tx, [s.id for s in found])
    return [SourceRead(**s.model_dump(), amount=s.amount_fen, allocated=sums[s.id][0],
                       disbursed=sums[s.id][1], available=s.amount_fen - sums[s.id][0])
            for s in found]


async def source_read(tx: Tx, source: Source) -> SourceRead:
    return (await source_reads(tx, [source]))[0]


@router.post("/sources", status_code=201, response_model=SourceRead,
             summary="登记资金来源 / register a fund source")
async def create_source(body: SourceCreate, tx: TxDep, principal: Writer,
                        response: Response) -> SourceRead:
    principal.ensure_writable(body.region_code)
    source = await sources.register_source(
        tx, name=body.name, level=body.level.value, kind=body.kind.value,
        fiscal_year=body.fiscal_year, document_no=body.document_no,
        region_code=body.region_code, amount_fen=body.amount,
        permitted_categories=[c.value for c in body.permitted_categories], nature=body.nature,
        expenditure_class=body.expenditure_class)
    response.headers["Location"] = f"/api/v1/funds/sources/{source.id}"
    return await source_read(tx, source)


@router.get("/sources/{source_id}", response_model=SourceRead,
            summary="查询资金来源（含已分配、已支出、可用） / read a source")
async def get_source(source_id: str, tx: TxDep, principal: Reader) -> SourceRead:
    source = await sources.get_source(tx, source_id)
    principal.ensure_visible(source.region_code, "资金来源")
    return await source_read(tx, source)


@router.get("/sources", response_model=Page[SourceRead], summary="资金来源列表 / list sources")
async def list_sources(tx: TxDep, principal: Reader, page: PageDep,
                       region: Annotated[str | None, Query(max_length=12)] = None,
                       fiscal_year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
                       ) -> Page:
    found = await sources.list_sources(tx, region=principal.narrow(region),
                                       fiscal_year=fiscal_year, limit=page.limit,
                                       after=page.after)
    return page_of(await source_reads(tx, found), page.limit, key=lambda s: s.id)


@router.get("/sources/{source_id}/flow",
            summary="资金流向追溯：分配→项目→支付→收款人/农户，含滚动余额 / trace every fen")
async def source_flow(source_id: str, tx: TxDep, principal: Reader) -> dict:
    source = await sources.get_source(tx, source_id)
    principal.ensure_visible(source.region_code, "资金来源")
    return yuanify(await reports.flow(tx, source_id))
