"""The local view of households, written only by projection handlers (replayable)."""

from __future__ import annotations

import datetime as dt

from services.tasks.db.tables import HouseholdView
from shared.db import upsert
from shared.tx import Tx


async def set_status(tx: Tx, *, household_id: str, region_code: str, status: str) -> None:
    await _upsert(tx, {"household_id": household_id, "region_code": region_code,
                       "status": status}, ["region_code", "status"])


async def set_monitored(tx: Tx, *, household_id: str, region_code: str, monitored: bool) -> None:
    await _upsert(tx, {"household_id": household_id, "region_code": region_code,
                       "monitored": monitored}, ["region_code", "monitored"])


async def _upsert(tx: Tx, values: dict, update: list[str]) -> None:
    values = {"monitored": False, "status": None, **values, "updated_at": dt.datetime.now(dt.UTC)}
    await tx.session.execute(upsert(tx.dialect, HouseholdView.__table__, values,
                                    keys=["household_id"], update=[*update, "updated_at"]))
