"""The local view of registry households (id, region, still registered), built only from
registry events, and the checks that use it.

A household has left the registry when its member count drops to 0 (`member_removed` with
`member_count == 0`); a later `member_added` brings it back."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from services.funds.db.tables import HouseholdView
from shared.db import upsert
from shared.errors import Unprocessable
from shared.events.registry import HouseholdRegistered, HouseholdUpdated, MemberAdded, MemberRemoved
from shared.regions import within
from shared.tx import Tx


async def household_registered(tx: Tx, payload: HouseholdRegistered) -> None:
    count = len(payload.members)
    await _put(tx, payload.household_id, payload.region_code, count)


async def member_changed(tx: Tx, payload: MemberAdded | MemberRemoved) -> None:
    await _put(tx, payload.household_id, payload.region_code, payload.member_count)


async def household_updated(tx: Tx, payload: HouseholdUpdated) -> None:
    t = HouseholdView.__table__
    await tx.session.execute(t.update().where(t.c.household_id == payload.household_id)
                             .values(region_code=payload.region_code,
                                     updated_at=dt.datetime.now(dt.UTC)))


async def _put(tx: Tx, household_id: str, region_code: str, member_count: int) -> None:
    await tx.session.execute(upsert(
        tx.dialect, HouseholdView.__table__,
        {"household_id": household_id, "region_code": region_code,
         "member_count": member_count, "in_registry": member_count > 0,
         "updated_at": dt.datetime.now(dt.UTC)},
        keys=["household_id"], update=["region_code", "member_count", "in_registry",
                                       "updated_at"]))


async def check_households(tx: Tx, household_ids: list[str], *, region_code: str,
                           field: str) -> None:
    """422 `unknown_household` unless every id is a registered household inside the region."""
    if not household_ids:
        return
    rows = (await tx.session.execute(
        sa.select(HouseholdView.household_id, HouseholdView.region_code)
        .where(HouseholdView.household_id.in_(household_ids),
               HouseholdView.in_registry.is_(True)))).all()
    known = {r.household_id for r in rows if within(r.region_code, region_code)}
    missing = [h for h in household_ids if h not in known]
    if missing:
        raise Unprocessable(
            "unknown_household",
            f"户 {missing[0]} 不是项目所在区域内的建档立卡户 "
            "(not a registered household in the project's region)", field=field)


async def get_household(tx: Tx, household_id: str) -> HouseholdView | None:
    return await tx.session.get(HouseholdView, household_id)
