"""The local view of registry households, rebuilt from events alone (safe to apply twice)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from services.monitoring.db.tables import HouseholdView, IncomeView, MemberView
from shared.db import upsert_statement
from shared.events.registry import (
    GuaranteesAssessed,
    HouseholdExited,
    HouseholdRegistered,
    HouseholdRelapsed,
    HouseholdUpdated,
    IncomeRecorded,
    MemberAdded,
    MemberFacts,
    MemberRemoved,
)
from shared.tx import Tx

_HV = HouseholdView.__table__
_MV = MemberView.__table__
_IV = IncomeView.__table__


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def household_registered(tx: Tx, payload: HouseholdRegistered) -> None:
    """Insert or refresh the household and its members."""
    await households_registered(tx, [payload])


async def households_registered(tx: Tx, payloads: list[HouseholdRegistered]) -> None:
    """Set-based: one upsert for the households, one for their members (the last event of
    a household wins, as it would applied one by one)."""
    now = _now()
    latest = {p.household_id: p for p in payloads}
    await tx.session.execute(
        upsert_statement(tx.dialect, _HV, ("household_id",),
                         ("region_code", "status", "attribute", "member_count", "updated_at")),
        [{"household_id": p.household_id, "region_code": p.region_code, "status": p.status,
          "attribute": p.attribute, "member_count": len(p.members), "updated_at": now}
         for p in latest.values()])
    members = {m.member_id: (p.household_id, m) for p in latest.values() for m in p.members}
    if members:
        await _upsert_member_rows(tx, [_member_row(hid, m) for hid, m in members.values()])


async def household_updated(tx: Tx, payload: HouseholdUpdated) -> None:
    await _update(tx, payload.household_id, region_code=payload.region_code,
                  attribute=payload.attribute)


async def member_added(tx: Tx, payload: MemberAdded) -> None:
    await _upsert_members(tx, payload.household_id, [payload.member])
    await _update(tx, payload.household_id, member_count=payload.member_count)


async def member_removed(tx: Tx, payload: MemberRemoved) -> None:
    await tx.session.execute(_MV.update().where(_MV.c.member_id == payload.member_id)
                             .values(active=False))
    await _update(tx, payload.household_id, member_count=payload.member_count)


async def income_recorded(tx: Tx, payload: IncomeRecorded) -> None:
    """The latest record of a year replaces the earlier one (events of a household are ordered)."""
    await incomes_recorded(tx, [payload])


async def incomes_recorded(tx: Tx, payloads: list[IncomeRecorded]) -> None:
    now = _now()
    latest = {(p.household_id, p.year): p for p in payloads}
    await tx.session.execute(
        upsert_statement(tx.dialect, _IV, ("household_id", "year"),
                         ("net_income_fen", "per_capita_net_income_fen", "member_count",
                          "recorded_at")),
        [{"household_id": p.household_id, "year": p.year, "net_income_fen": p.net_income_fen,
          "per_capita_net_income_fen": p.per_capita_net_income_fen,
          "member_count": p.member_count, "recorded_at": now} for p in latest.values()])


async def guarantees_assessed(tx: Tx, payload: GuaranteesAssessed) -> None:
    await _update(tx, payload.household_id, unmet_guarantees=list(payload.unmet),
                  guarantees_assessed_on=payload.assessed_on)


async def household_exited(tx: Tx, payload: HouseholdExited) -> None:
    await _update(tx, payload.household_id, status="exited")


async def household_relapsed(tx: Tx, payload: HouseholdRelapsed) -> None:
    await _update(tx, payload.household_id, status="relapsed")


async def _update(tx: Tx, household_id: str, **values) -> None:
    await tx.session.execute(_HV.update().where(_HV.c.household_id == household_id)
                             .values(**values, updated_at=_now()))


async def _upsert_members(tx: Tx, household_id: str, members: list[MemberFacts]) -> None:
    await _upsert_member_rows(tx, [_member_row(household_id, m) for m in members])


async def _upsert_member_rows(tx: Tx, rows: list[dict]) -> None:
    await tx.session.execute(
        upsert_statement(tx.dialect, _MV, ("member_id",),
                         ("household_id", "id_hash", "labor_ability", "active")), rows)


def _member_row(household_id: str, m: MemberFacts) -> dict:
    return {"member_id": m.member_id, "household_id": household_id, "id_hash": m.id_hash,
            "labor_ability": m.labor_ability, "active": True}


async def household(tx: Tx, household_id: str) -> HouseholdView | None:
    return await tx.session.get(HouseholdView, household_id)


async def household_by_id_hash(tx: Tx, id_hash: str) -> HouseholdView | None:
    """The household an active member with this blind index belongs to."""
    query = (sa.select(HouseholdView).join(MemberView, MemberView.household_id ==
                                           HouseholdView.household_id)
             .where(MemberView.id_hash == id_hash, MemberView.active.is_(True)).limit(1))
    return (await tx.session.execute(query)).scalars().first()
