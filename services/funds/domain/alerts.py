"""Alerts computed from the ledger, each raised once: the alerts table has a unique key per
(kind, subject), new rows are inserted with ON CONFLICT DO NOTHING and only the rows actually
inserted emit `cn.fupin.funds.alert.raised`."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import sqlalchemy as sa

from services.funds.db.tables import (
    Alert,
    Allocation,
    AllocationBalance,
    Disbursement,
    FundRule,
    HouseholdView,
    Project,
    Reversal,
    Source,
)
from services.funds.domain.common import DEFAULT_STAGNANT_DAYS, effective
from services.funds.domain.enums import AlertKind, ProjectStatus
from shared.db import insert_ignore
from shared.events.funds import FundsAlertRaised
from shared.ids import new_id
from shared.regions import within
from shared.tx import Tx


async def refresh_alerts(tx: Tx, *, as_of: dt.date, region: str = "") -> list[Alert]:
    """Compute every alert condition inside `region` on `as_of`; raise the new ones."""
    rules = await _all_rules(tx)
    found = [*await _stagnant(tx, as_of, region, rules), *await _overdue(tx, as_of, region),
             *await _households_left(tx, region), *await _shares(tx, region, rules)]
    raised: list[Alert] = []
    for start in range(0, len(found), 500):
        raised += await _insert_new(tx, found[start:start + 500], as_of)
    for alert in raised:
        tx.emit(FundsAlertRaised(
            alert_id=alert.id, kind=alert.kind, region_code=alert.region_code,
            project_id=alert.project_id, allocation_id=alert.allocation_id,
            amount_fen=alert.amount_fen, disbursement_id=alert.disbursement_id,
            household_id=alert.detail.get("household_id"),
            fiscal_year=alert.detail.get("fiscal_year"), category=alert.detail.get("category"),
            raised_on=as_of), subject=alert.subject, region_code=alert.region_code)
        tx.audit("alert.raise", "funds_alert", alert.id, region_code=alert.region_code,
                 after={"kind": alert.kind, "subject": alert.subject,
                        "amount_fen": alert.amount_fen})
    return raised


async def list_alerts(tx: Tx, *, region: str, kind: str | None, limit: int,
                      after: str | None) -> list[Alert]:
    query = sa.select(Alert).where(Alert.region_code.startswith(region)).order_by(Alert.id)
    if kind is not None:
        query = query.where(Alert.kind == kind)
    if after:
        query = query.where(Alert.id > after)
    return list((await tx.session.execute(query.limit(limit + 1))).scalars().all())


async def _insert_new(tx: Tx, rows: list[dict], as_of: dt.date) -> list[Alert]:
    if not rows:
        return []
    now = dt.datetime.now(dt.UTC)
    values = [{"id": new_id(), "raised_on": as_of, "raised_at": now, "project_id": None,
               "allocation_id": None, "disbursement_id": None, **r} for r in rows]
    stmt = insert_ignore(tx.dialect, Alert.__table__, values).returning(
        *Alert.__table__.c)
    inserted = (await tx.session.execute(stmt)).all()
    return sorted((Alert(**r._mapping) for r in inserted), key=lambda a: a.id)


async def _all_rules(tx: Tx) -> dict[int, dict[str, FundRule]]:
    by_year: dict[int, dict[str, FundRule]] = defaultdict(dict)
    for rule in (await tx.session.execute(sa.select(FundRule))).scalars():
        by_year[rule.fiscal_year][rule.region_code] = rule
    return by_year


async def _stagnant(tx: Tx, as_of: dt.date, region: str,
                    rules: dict[int, dict[str, FundRule]]) -> list[dict]:
    """Allocated more than N days ago (N per year and region, default 90), not fully paid."""
    shortest = min([DEFAULT_STAGNANT_DAYS, *(r.stagnant_days for y in rules.values()
                                             for r in y.values() if r.stagnant_days)])
    query = (sa.select(Allocation.id, Allocation.project_id, Allocation.region_code,
                       Allocation.allocated_on, Allocation.amount_fen,
                       AllocationBalance.disbursed_fen)
             .join(AllocationBalance, AllocationBalance.allocation_id == Allocation.id)
             .where(Allocation.region_code.startswith(region),
                    AllocationBalance.disbursed_fen < Allocation.amount_fen,
                    Allocation.allocated_on < as_of - dt.timedelta(days=shortest)))
    out = []
    for row in (await tx.session.execute(query)).all():
        days = effective(rules.get(row.allocated_on.year, {}), row.region_code).stagnant_days
        if (as_of - row.allocated_on).days > days:
            out.append({"kind": AlertKind.stagnant.value, "subject": row.id,
                        "region_code": row.region_code, "project_id": row.project_id,
                        "allocation_id": row.id,
                        "amount_fen": row.amount_fen - row.disbursed_fen,
                        "detail": {"allocated_on": row.allocated_on.isoformat(),
                                   "days": (as_of - row.allocated_on).days,
                                   "limit_days": days}})
    return out


async def _overdue(tx: Tx, as_of: dt.date, region: str) -> list[dict]:
    """Approved projects past planned_end whose allocated money is not fully paid out."""
    allocated = sa.func.sum(Allocation.amount_fen)
    disbursed = sa.func.sum(AllocationBalance.disbursed_fen)
    query = (sa.select(Project.id, Project.region_code, Project.planned_end,
                       allocated.label("allocated"), disbursed.label("disbursed"))
             .join(Allocation, Allocation.project_id == Project.id)
             .join(AllocationBalance, AllocationBalance.allocation_id == Allocation.id)
             .where(Project.region_code.startswith(region),
                    Project.status == ProjectStatus.approved.value,
                    Project.planned_end < as_of)
             .group_by(Project.id, Project.region_code, Project.planned_end)
             .having(disbursed < allocated))
    return [{"kind": AlertKind.overdue_project.value, "subject": row.id,
             "region_code": row.region_code, "project_id": row.id,
             "amount_fen": int(row.allocated) - int(row.disbursed),
             "detail": {"planned_end": row.planned_end.isoformat()}}
            for row in (await tx.session.execute(query)).all()]


async def _households_left(tx: Tx, region: str) -> list[dict]:
    """Non-reversed disbursements to households that have since left the registry."""
    query = (sa.select(Disbursement.id, Disbursement.allocation_id, Disbursement.project_id,
                       Disbursement.region_code, Disbursement.amount_fen,
                       Disbursement.household_id)
             .join(HouseholdView, HouseholdView.household_id == Disbursement.household_id)
             .where(HouseholdView.in_registry.is_(False),
                    Disbursement.region_code.startswith(region),
                    Disbursement.id.not_in(sa.select(Reversal.disbursement_id))))
    return [{"kind": AlertKind.household_left.value, "subject": row.id,
             "region_code": row.region_code, "project_id": row.project_id,
             "allocation_id": row.allocation_id, "disbursement_id": row.id,
             "amount_fen": row.amount_fen, "detail": {"household_id": row.household_id}}
            for row in (await tx.session.execute(query)).all()]


async def _shares(tx: Tx, region: str, rules: dict[int, dict[str, FundRule]]) -> list[dict]:
    """Category minimums that the year's remaining unallocated money can no longer reach."""
    out = []
    for year, by_region in rules.items():
        for code, rule in by_region.items():
            if not rule.min_shares or not within(code, region):
                continue
            kinds = effective(by_region, code).share_kinds
            base, by_category = await share_base(tx, year=year, region=code, kinds=kinds)
            unallocated = base - sum(by_category.values())
            for category, minimum in rule.min_shares.items():
                need = _need(base, Decimal(minimum))
                if base and by_category.get(category, 0) + unallocated < need:
                    out.append({"kind": AlertKind.category_share.value,
                                "subject": f"{year}:{code or '-'}:{category}",
                                "region_code": code,
                                "amount_fen": need - by_category.get(category, 0),
                                "detail": {"fiscal_year": year, "category": category,
                                           "minimum": minimum}})
    return out


def _need(base: int, minimum_percent: Decimal) -> int:
    """Fen a category must receive to reach `minimum_percent` of `base` (rounded up)."""
    return int(-(-(base * minimum_percent) // 100))


async def share_base(tx: Tx, *, year: int, region: str,
                     kinds: tuple[str, ...]) -> tuple[int, dict[str, int]]:
    """Total of the year's sources of `kinds` in the region, and their allocations by category."""
    base = await tx.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Source.amount_fen), 0))
        .where(Source.fiscal_year == year, Source.region_code.startswith(region),
               Source.kind.in_(kinds)))
    rows = (await tx.session.execute(
        sa.select(Project.category, sa.func.sum(Allocation.amount_fen))
        .select_from(Source)
        .join(Allocation, Allocation.source_id == Source.id)
        .join(Project, Project.id == Allocation.project_id)
        .where(Source.fiscal_year == year, Source.region_code.startswith(region),
               Source.kind.in_(kinds))
        .group_by(Project.category))).all()
    return int(base or 0), {c: int(v) for c, v in rows}
