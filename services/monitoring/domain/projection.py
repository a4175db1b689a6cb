"""The local view of registry households, rebuilt from events alone (safe to apply twice)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from services.monitoring.db.tables import HouseholdView, IncomeView, MemberView
from shared.db import upsert
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


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def household_registered(tx: Tx, payload: HouseholdRegistered) -> None:
    """Insert or refresh the household and its members."""
    await tx.session.execute(upsert(
        tx.dialect, _HV,
        {"household_id": payload.household_id, "region_code": payload.region_code,
         "status": payload.status, "attribute": payload.attribute,
         "member_count": len(payload.members), "updated_at": _now()},
        keys=["household_id"],
        update=["region_code", "status", "attribute", "member_count", "updated_at"]))
    if payload.members:
        await _upsert_members(tx, payload.household_id, payload.members)


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
    await tx.session.execute(upsert(
        tx.dialect, IncomeView.__table__,
        {"household_id": payload.household_id, "year": payload.year,
         "net_income_fen": payload.net_income_fen,
         "per_capita_net_income_fen": payload.per_capita_net_income_fen,
         "member_count": payload.member_count, "recorded_at": _now()},
        keys=["household_id", "year"],
        update=["net_income_fen", "per_capita_net_income_fen", "member_count", "recorded_at"]))


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
    await tx.session.execute(upsert(
        tx.dialect, _MV,
        [{"member_id": m.member_id, "household_id": household_id, "id_hash": m.id_hash,
          "labor_ability": m.labor_ability, "active": True} for m in members],
        keys=["member_id"], update=["household_id", "id_hash", "labor_ability", "active"]))


async def household(tx: Tx, household_id: str) -> HouseholdView | None:
    return await tx.session.get(HouseholdView, household_id)


async def household_by_id_hash(tx: Tx, id_hash: str) -> HouseholdView | None:
    """The household an active member with this blind index belongs to."""
    query = (sa.select(HouseholdView).join(MemberView, MemberView.household_id ==
                                           HouseholdView.household_id)
             .where(MemberView.id_hash == id_hash, MemberView.active.is_(True)).limit(1))
    return (await tx.session.execute(query)).scalars().first()
