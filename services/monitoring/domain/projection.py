"""The local view of registry households, rebuilt from events alone."""

from __future__ import annotations

import datetime as dt

from services.monitoring.db.tables import HouseholdView, MemberView
from shared.db import upsert
from shared.events.registry import HouseholdRegistered


async def household_registered(tx, payload: HouseholdRegistered) -> None:
    """Insert or refresh the household and its members (safe to apply twice)."""
    await tx.session.execute(upsert(
        tx.dialect, HouseholdView.__table__,
        {"household_id": payload.household_id, "region_code": payload.region_code,
         "status": payload.status, "attribute": payload.attribute,
         "member_count": len(payload.members), "updated_at": dt.datetime.now(dt.UTC)},
        keys=["household_id"],
        update=["region_code", "status", "attribute", "member_count", "updated_at"]))
    if payload.members:
        await tx.session.execute(upsert(
            tx.dialect, MemberView.__table__,
            [{"member_id": m.member_id, "household_id": payload.household_id,
              "id_hash": m.id_hash, "labor_ability": m.labor_ability, "active": True}
             for m in payload.members],
            keys=["member_id"], update=["household_id", "id_hash", "labor_ability", "active"]))
