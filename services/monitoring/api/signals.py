"""Routes for risk signals (风险线索) and their manual matching."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from services.monitoring.api.deps import Reader, Writer
from services.monitoring.api.schemas import SignalCreate, SignalMatch, SignalRead
from services.monitoring.domain import signals
from shared.web import Page, PageDep, TxDep, page_of, service_router

router = service_router("monitoring", tags=["monitoring: signals 风险线索"])


def signal_read(signal) -> SignalRead:
    return SignalRead.model_validate({**signal.model_dump(), "amount": signal.amount_fen})


@router.post("/signals", status_code=201, response_model=SignalRead,
             summary="报送风险线索 / report a risk signal",
             description="按户 ID 或身份证号（盲索引）匹配；未匹配的线索保留（alert_id 为 null），"
                         "可在 `GET /signals?matched=false` 中查到并人工匹配。身份证号不保存。")
async def create_signal(body: SignalCreate, tx: TxDep, principal: Writer) -> SignalRead:
    data = signals.SignalInput(
        household_id=body.household_id, id_number=body.id_number, source=body.source.value,
        department=body.department.value if body.department else None, kind=body.kind.value,
        amount_fen=body.amount, occurred_on=body.occurred_on, detail=body.detail)
    return signal_read(await signals.receive(tx, principal=principal, data=data))


@router.get("/signals", response_model=Page[SignalRead], summary="线索列表 / list signals")
async def list_signals(tx: TxDep, principal: Reader, page: PageDep,
                       region: Annotated[str | None, Query(max_length=12)] = None,
                       matched: bool | None = None) -> Page:
    found = await signals.list_signals(tx, within=principal.narrow(region), matched=matched,
                                       limit=page.limit, after=page.after)
    return page_of([signal_read(s) for s in found], page.limit, key=lambda s: s.id)


@router.get("/signals/{signal_id}", response_model=SignalRead, summary="查询线索 / read")
async def get_signal(signal_id: str, tx: TxDep, principal: Reader) -> SignalRead:
    signal = await signals.get_signal(tx, signal_id)
    principal.ensure_visible(signal.region_code, "线索")
    return signal_read(signal)


@router.post("/signals/{signal_id}/match", response_model=SignalRead,
             summary="人工匹配线索到户 / match an unmatched signal to a household")
async def match_signal(signal_id: str, body: SignalMatch, tx: TxDep,
                       principal: Writer) -> SignalRead:
    signal = await signals.get_signal(tx, signal_id, lock=True)
    principal.ensure_visible(signal.region_code, "线索")
    return signal_read(await signals.match(tx, principal=principal, signal=signal,
                                           household_id=body.household_id))
