"""Risk signals (风险线索) from self-report, cadres' visits and other departments' data."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from services.monitoring.db.tables import HouseholdView, Signal
from services.monitoring.domain import alerts, projection
from services.monitoring.domain.enums import SignalSource
from shared.auth import Principal
from shared.errors import Conflict, NotFound, Unprocessable
from shared.events.monitoring import SignalMatched, SignalReceived
from shared.ids import new_id
from shared.tx import Tx


@dataclass(frozen=True)
class SignalInput:
    household_id: str | None
    id_number: str | None  # normalized, validated; never stored
    source: str
    department: str | None
    kind: str
    amount_fen: int | None
    occurred_on: dt.date
    detail: str | None


async def receive(tx: Tx, *, principal: Principal, data: SignalInput) -> Signal:
    """Keep the signal; when it names a household in the caller's region, raise an alert."""
    _validate(data)
    household, id_hash = await _match(tx, principal=principal, data=data)
    signal = Signal(
        id=new_id(), household_id=household.household_id if household else None,
        region_code=household.region_code if household else principal.region,
        id_hash=None if household else id_hash, source=data.source, department=data.department,
        kind=data.kind, amount_fen=data.amount_fen, occurred_on=data.occurred_on,
        detail=data.detail, received_by=tx.actor)
    if household is not None:
        alert = await alerts.raise_or_append(tx, household_id=household.household_id,
                                             region_code=household.region_code, kind=data.kind,
                                             source=data.source)
        signal.alert_id, signal.matched_at = alert.id, dt.datetime.now(dt.UTC)
    tx.session.add(signal)
    tx.emit(SignalReceived(signal_id=signal.id, household_id=signal.household_id,
                           region_code=signal.region_code if household else None,
                           source=data.source, department=data.department, kind=data.kind,
                           amount_fen=data.amount_fen, occurred_on=data.occurred_on),
            subject=signal.household_id or signal.id, region_code=signal.region_code)
    tx.audit("signal.receive", "signal", signal.id, region_code=signal.region_code,
             after=snapshot(signal))
    return signal


def _validate(data: SignalInput) -> None:
    if not data.household_id and not data.id_number:
        raise Unprocessable("household_or_id_number_required",
                            "须提供户 ID 或身份证号之一 (household_id or id_number required)",
                            field="household_id")
    if data.source == SignalSource.department.value and not data.department:
        raise Unprocessable("department_required",
                            "部门筛查预警须注明部门 (department required for department signals)",
                            field="department")


async def _match(tx: Tx, *, principal: Principal,
                 data: SignalInput) -> tuple[HouseholdView | None, str | None]:
    if data.household_id:
        return await visible_household(tx, principal=principal,
                                       household_id=data.household_id), None
    assert data.id_number is not None
    id_hash = tx.cipher.blind_index(data.id_number)
    found = await projection.household_by_id_hash(tx, id_hash)
    if found is not None and principal.sees(found.region_code):
        return found, id_hash
    return None, id_hash  # kept for manual matching; another region's household stays hidden


async def visible_household(tx: Tx, *, principal: Principal, household_id: str) -> HouseholdView:
    """A registered household of the caller's region; 422 `unknown_household` otherwise."""
    household = await projection.household(tx, household_id)
    if household is None or not principal.sees(household.region_code):
        raise Unprocessable("unknown_household",
                            "未找到该建档立卡户 (unknown household)", field="household_id")
    return household


async def get_signal(tx: Tx, signal_id: str, *, lock: bool = False) -> Signal:
    signal = await tx.session.get(Signal, signal_id, with_for_update=lock, populate_existing=lock)
    if signal is None:
        raise NotFound("线索")
    return signal


async def match(tx: Tx, *, principal: Principal, signal: Signal, household_id: str) -> Signal:
    """人工匹配: attach an unmatched signal to a household and raise or extend its alert."""
    if signal.household_id is not None:
        raise Conflict("signal_already_matched", "线索已匹配到户 (signal already matched)",
                       field="household_id")
    household = await visible_household(tx, principal=principal, household_id=household_id)
    alert = await alerts.raise_or_append(tx, household_id=household.household_id,
                                         region_code=household.region_code, kind=signal.kind,
                                         source=signal.source)
    before = snapshot(signal)
    signal.household_id, signal.region_code = household.household_id, household.region_code
    signal.alert_id, signal.matched_at, signal.id_hash = alert.id, dt.datetime.now(dt.UTC), None
    tx.emit(SignalMatched(signal_id=signal.id, household_id=household.household_id,
                          region_code=household.region_code, alert_id=alert.id),
            subject=household.household_id, region_code=household.region_code)
    tx.audit("signal.match", "signal", signal.id, region_code=household.region_code,
             before=before, after=snapshot(signal))
    return signal


async def list_signals(tx: Tx, *, within: str, matched: bool | None, limit: int,
                       after: str | None) -> list[Signal]:
    query = sa.select(Signal).where(Signal.region_code.startswith(within))
    if matched is not None:
        query = query.where(Signal.household_id.is_not(None) if matched
                            else Signal.household_id.is_(None))
    if after:
        query = query.where(Signal.id > after)
    return list((await tx.session.execute(query.order_by(Signal.id).limit(limit + 1)))
                .scalars().all())


def snapshot(signal: Signal) -> dict:
    """No ID number, not even its blind index, in the audit log."""
    return signal.model_dump(mode="json", exclude={"id_hash", "received_at", "matched_at",
                                                   "detail"})
