"""结对帮扶: one official per household, and the coverage of households that need one.

The household facts come only from the local projection (`household_view`) of registry and
monitoring events; see services/tasks/events/projection.py."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from services.tasks.db.tables import HouseholdView, Pairing
from services.tasks.domain import units
from shared.errors import NotFound, Unprocessable
from shared.events.tasks import PairingAssigned
from shared.tx import Tx

NEEDS_PAIRING = ("poor", "relapsed")


async def household(tx: Tx, household_id: str) -> HouseholdView:
    view = await tx.session.get(HouseholdView, household_id)
    if view is None:
        raise Unprocessable("unknown_household", "贫困户不存在或尚未同步 (unknown household)",
                            field="household_id")
    return view


async def assign(tx: Tx, *, view: HouseholdView, official_id: str) -> Pairing:
    """Pair (or re-pair) a household with an official of its region."""
    await units.official_in_region(tx, official_id, view.region_code, field="official_id")
    current = await tx.session.get(Pairing, view.household_id, with_for_update=True)
    previous = current.official_id if current else None
    if current is not None and previous == official_id:
        return current
    if current is None:
        pairing = Pairing(household_id=view.household_id, official_id=official_id,
                          region_code=view.region_code)
        tx.session.add(pairing)
    else:
        pairing = current
        pairing.official_id, pairing.region_code = official_id, view.region_code
        pairing.version += 1
        pairing.assigned_at = dt.datetime.now(dt.UTC)
    await tx.session.flush()
    tx.emit(PairingAssigned(household_id=view.household_id, official_id=official_id,
                            region_code=view.region_code, previous_official_id=previous),
            subject=view.household_id, region_code=view.region_code)
    tx.audit("pairing.assign", "pairing", view.household_id, region_code=view.region_code,
             before={"official_id": previous}, after={"official_id": official_id})
    return pairing


async def get_pairing(tx: Tx, household_id: str) -> Pairing:
    pairing = await tx.session.get(Pairing, household_id)
    if pairing is None:
        raise NotFound("结对关系")
    return pairing


async def list_pairings(tx: Tx, *, region: str, official_id: str | None, limit: int,
                        after: str | None) -> list[Pairing]:
    query = (sa.select(Pairing).where(Pairing.region_code.startswith(region))
             .order_by(Pairing.household_id))
    if official_id:
        query = query.where(Pairing.official_id == official_id)
    if after:
        query = query.where(Pairing.household_id > after)
    return list((await tx.session.execute(query.limit(limit + 1))).scalars())


def _uncovered(region: str) -> sa.ColumnElement[bool]:
    paired = sa.select(Pairing.household_id).where(Pairing.household_id == HouseholdView.household_id)
    return sa.and_(HouseholdView.region_code.startswith(region),
                   sa.or_(HouseholdView.status.in_(NEEDS_PAIRING), HouseholdView.monitored),
                   ~sa.exists(paired))


async def coverage(tx: Tx, *, region: str, limit: int,
                   after: str | None) -> tuple[list[HouseholdView], dict[str, int]]:
    """Poor, relapsed and monitored households with no paired official, and the totals."""
    query = sa.select(HouseholdView).where(_uncovered(region)).order_by(HouseholdView.household_id)
    if after:
        query = query.where(HouseholdView.household_id > after)
    items = list((await tx.session.execute(query.limit(limit + 1))).scalars())
    needing = sa.and_(HouseholdView.region_code.startswith(region),
                      sa.or_(HouseholdView.status.in_(NEEDS_PAIRING), HouseholdView.monitored))
    totals = (await tx.session.execute(sa.select(
        sa.func.count().filter(needing), sa.func.count().filter(_uncovered(region)),
    ).select_from(HouseholdView))).one()
    return items, {"needing": int(totals[0]), "uncovered": int(totals[1])}
