"""Read models over the ledger: statistics and progress (支出进度), the trace of a source's
money (资金流向) and what reached one household. All sums are SQL aggregates."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from services.funds.db.tables import (
    Allocation,
    AllocationBalance,
    Beneficiary,
    Disbursement,
    Project,
    Reversal,
    Source,
)
from services.funds.domain.alerts import share_base
from services.funds.domain.common import rule_for
from services.funds.domain.sources import get_source
from shared.tx import Tx


def percent(part: int, whole: int) -> str | None:
    if not whole:
        return None
    return str((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), ROUND_HALF_UP))


def _bucket() -> dict[str, int]:
    return {"amount": 0, "allocated": 0, "disbursed": 0}


_CHILD_LENGTH = {0: 2, 2: 4, 4: 6, 6: 9, 9: 12, 12: 12}
DIMENSIONS = ("level", "kind", "category", "fiscal_year", "region")


async def statistics(tx: Tx, *, region: str, fiscal_year: int | None) -> dict:
    """Totals and progress inside `region` by level, kind, category, fiscal year and the
    next region level down (sources count where they were received, allocations and
    payments where the project is)."""
    where = [Source.region_code.startswith(region)]
    if fiscal_year is not None:
        where.append(Source.fiscal_year == fiscal_year)
    # Literal lengths, so PostgreSQL sees the grouped and selected expressions as one.
    one, child = sa.literal_column("1"), sa.literal_column(str(_CHILD_LENGTH[len(region)]))
    source_region = sa.func.substr(Source.region_code, one, child)
    received = (await tx.session.execute(
        sa.select(Source.level, Source.kind, Source.fiscal_year,
                  source_region, sa.func.sum(Source.amount_fen))
        .where(*where).group_by(Source.level, Source.kind, Source.fiscal_year,
                                source_region))).all()
    project_region = sa.func.substr(Project.region_code, one, child)
    moved = (await tx.session.execute(
        sa.select(Source.level, Source.kind, Project.category, Source.fiscal_year,
                  project_region, sa.func.sum(Allocation.amount_fen),
                  sa.func.sum(AllocationBalance.disbursed_fen))
        .select_from(Allocation)
        .join(Source, Source.id == Allocation.source_id)
        .join(Project, Project.id == Allocation.project_id)
        .join(AllocationBalance, AllocationBalance.allocation_id == Allocation.id)
        .where(*where).group_by(Source.level, Source.kind, Project.category,
                                Source.fiscal_year, project_region))).all()
    groups: dict[str, dict] = {d: defaultdict(_bucket) for d in DIMENSIONS}
    total = _bucket()
    for level, kind, year, area, amount in received:
        for dim, key in zip(("level", "kind", "fiscal_year", "region"), (level, kind, year, area),
                            strict=True):
            groups[dim][key]["amount"] += int(amount)
        total["amount"] += int(amount)
    for level, kind, category, year, area, allocated, disbursed in moved:
        for dim, key in zip(DIMENSIONS, (level, kind, category, year, area), strict=True):
            groups[dim][key]["allocated"] += int(allocated)
            groups[dim][key]["disbursed"] += int(disbursed)
        total["allocated"] += int(allocated)
        total["disbursed"] += int(disbursed)
    out = {"region": region, "fiscal_year": fiscal_year, "totals": _line(total)}
    for dim, rows in groups.items():
        out[f"by_{dim}"] = [{dim: key, **_line(v)} for key, v in sorted(rows.items())]
    out["category_shares"] = (await _shares(tx, region, fiscal_year)
                              if fiscal_year is not None else [])
    return out


def _line(v: dict[str, int]) -> dict:
    """A row of amounts; progress is disbursed over received (or over allocated for
    categories, which receive nothing directly)."""
    base = v["amount"] or v["allocated"]
    return {"amount_fen": v["amount"], "allocated_fen": v["allocated"],
            "disbursed_fen": v["disbursed"], "available_fen": v["amount"] - v["allocated"],
            "progress_percent": percent(v["disbursed"], base)}


async def _shares(tx: Tx, region: str, year: int) -> list[dict]:
    rule = await rule_for(tx, year=year, region_code=region)
    base, by_category = await share_base(tx, year=year, region=region, kinds=rule.share_kinds)
    rows = []
    for category in sorted(set(by_category) | set(rule.min_shares)):
        got = by_category.get(category, 0)
        minimum = rule.min_shares.get(category)
        share = percent(got, base)
        rows.append({"category": category, "allocated_fen": got, "base_fen": base,
                     "share_percent": share, "minimum_percent": minimum,
                     "rule_region": rule.region_code if minimum else None,
                     "met": None if minimum is None else (
                         share is not None and Decimal(share) >= Decimal(minimum))})
    return rows


async def flow(tx: Tx, source_id: str) -> dict:
    """Every fen of a source: allocations → projects → disbursements (and reversals) →
    payees and households, with the source's and each allocation's running balance."""
    source = await get_source(tx, source_id)
    allocations = (await tx.session.execute(
        sa.select(Allocation, Project.name, Project.category)
        .join(Project, Project.id == Allocation.project_id)
        .where(Allocation.source_id == source_id)
        .order_by(Allocation.allocated_on, Allocation.id))).all()
    ids = [a.id for a, _, _ in allocations]
    entries = await _entries(tx, ids)
    balance = source.amount_fen
    out = []
    for allocation, project_name, category in allocations:
        balance -= allocation.amount_fen
        remaining = allocation.amount_fen
        lines = []
        for entry in entries.get(allocation.id, []):
            remaining -= entry["amount_fen"] if entry["type"] == "disbursement" else \
                -entry["amount_fen"]
            lines.append({**entry, "allocation_balance_fen": remaining})
        out.append({"allocation_id": allocation.id, "project_id": allocation.project_id,
                    "project_name": project_name, "category": category,
                    "region_code": allocation.region_code, "amount_fen": allocation.amount_fen,
                    "document_no": allocation.document_no,
                    "allocated_on": allocation.allocated_on.isoformat(),
                    "source_balance_fen": balance, "entries": lines,
                    "undisbursed_fen": remaining})
    return {"source_id": source.id, "name": source.name, "document_no": source.document_no,
            "amount_fen": source.amount_fen, "unallocated_fen": balance, "allocations": out}


async def _entries(tx: Tx, allocation_ids: list[str]) -> dict[str, list[dict]]:
    """Disbursements and reversals of the allocations, each allocation's in time order."""
    if not allocation_ids:
        return {}
    paid = (await tx.session.execute(sa.select(Disbursement).where(
        Disbursement.allocation_id.in_(allocation_ids)))).scalars().all()
    undone = (await tx.session.execute(sa.select(Reversal).where(
        Reversal.allocation_id.in_(allocation_ids)))).scalars().all()
    reversed_ids = {r.disbursement_id for r in undone}
    rows = [(d.allocation_id, d.created_at, d.id, {
        "type": "disbursement", "id": d.id, "amount_fen": d.amount_fen, "payee": d.payee,
        "household_id": d.household_id, "paid_on": d.paid_on.isoformat(),
        "voucher_no": d.voucher_no, "reversed": d.id in reversed_ids}) for d in paid]
    rows += [(r.allocation_id, r.created_at, r.id, {
        "type": "reversal", "id": r.id, "disbursement_id": r.disbursement_id,
        "amount_fen": r.amount_fen, "reason": r.reason, "by": r.created_by}) for r in undone]
    grouped: dict[str, list[dict]] = defaultdict(list)
    for allocation_id, _, _, entry in sorted(rows, key=lambda r: (r[1], r[2])):
        grouped[allocation_id].append(entry)
    return grouped


async def benefits(tx: Tx, household_id: str) -> dict:
    """What reached one household: projects it benefits from, payments made to it."""
    projects = (await tx.session.execute(
        sa.select(Project.id, Project.name, Project.category, Project.fiscal_year,
                  Project.region_code, Project.status)
        .join(Beneficiary, Beneficiary.project_id == Project.id)
        .where(Beneficiary.household_id == household_id).order_by(Project.id))).all()
    paid = (await tx.session.execute(
        sa.select(Disbursement.id, Disbursement.project_id, Project.name,
                  Disbursement.amount_fen, Disbursement.paid_on, Reversal.id.label("rid"))
        .join(Project, Project.id == Disbursement.project_id)
        .join(Reversal, Reversal.disbursement_id == Disbursement.id, isouter=True)
        .where(Disbursement.household_id == household_id)
        .order_by(Disbursement.paid_on, Disbursement.id))).all()
    received = sum(p.amount_fen for p in paid if p.rid is None)
    return {
        "household_id": household_id,
        "projects": [dict(p._mapping) for p in projects],
        "disbursements": [{"id": p.id, "project_id": p.project_id, "project_name": p.name,
                           "amount_fen": p.amount_fen, "paid_on": p.paid_on.isoformat(),
                           "reversed": p.rid is not None} for p in paid],
        "received_fen": received,
    }
