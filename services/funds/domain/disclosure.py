"""公告公示: what the public notice shows. Funds: total, source, nature and use. Projects:
name, location, content, period, implementing unit, funding, targets and beneficiary count.
Never a payee, a household id, a name, an ID number, a phone, a bank account or health."""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa

from services.funds.db.tables import Allocation, AllocationBalance, Beneficiary, Project, Source
from services.funds.domain.enums import ProjectStatus
from shared.tx import Tx


async def disclosure(tx: Tx, *, region: str, fiscal_year: int) -> dict:
    return {"region": region, "fiscal_year": fiscal_year,
            "funds": await _funds(tx, region, fiscal_year),
            "projects": await _projects(tx, region, fiscal_year)}


async def _funds(tx: Tx, region: str, year: int) -> list[dict]:
    sources = (await tx.session.execute(
        sa.select(Source).where(Source.region_code.startswith(region),
                                Source.fiscal_year == year)
        .order_by(Source.level, Source.document_no, Source.id))).scalars().all()
    uses = (await tx.session.execute(
        sa.select(Allocation.source_id, Project.category, sa.func.sum(Allocation.amount_fen),
                  sa.func.sum(AllocationBalance.disbursed_fen))
        .join(Source, Source.id == Allocation.source_id)
        .join(Project, Project.id == Allocation.project_id)
        .join(AllocationBalance, AllocationBalance.allocation_id == Allocation.id)
        .where(Source.region_code.startswith(region), Source.fiscal_year == year)
        .group_by(Allocation.source_id, Project.category))).all()
    by_source: dict[str, list[dict]] = defaultdict(list)
    for source_id, category, allocated, disbursed in uses:
        by_source[source_id].append({"category": category, "allocated_fen": int(allocated),
                                     "disbursed_fen": int(disbursed)})
    return [{"name": s.name, "document_no": s.document_no, "level": s.level, "kind": s.kind,
             "nature": s.nature, "expenditure_class": s.expenditure_class,
             "region_code": s.region_code, "amount_fen": s.amount_fen,
             "allocated_fen": sum(u["allocated_fen"] for u in by_source[s.id]),
             "disbursed_fen": sum(u["disbursed_fen"] for u in by_source[s.id]),
             "uses": sorted(by_source[s.id], key=lambda u: u["category"])} for s in sources]


async def _projects(tx: Tx, region: str, year: int) -> list[dict]:
    counts = (sa.select(Beneficiary.project_id, sa.func.count().label("n"))
              .group_by(Beneficiary.project_id).subquery())
    money = (sa.select(Allocation.project_id,
                       sa.func.sum(Allocation.amount_fen).label("allocated"),
                       sa.func.sum(AllocationBalance.disbursed_fen).label("disbursed"))
             .join(AllocationBalance, AllocationBalance.allocation_id == Allocation.id)
             .group_by(Allocation.project_id).subquery())
    rows = (await tx.session.execute(
        sa.select(Project, counts.c.n, money.c.allocated, money.c.disbursed)
        .join(counts, counts.c.project_id == Project.id, isouter=True)
        .join(money, money.c.project_id == Project.id, isouter=True)
        .where(Project.region_code.startswith(region), Project.fiscal_year == year,
               Project.status == ProjectStatus.approved.value)
        .order_by(Project.region_code, Project.id))).all()
    funding = await _project_sources(tx, [p.id for p, *_ in rows])
    return [{"name": p.name, "region_code": p.region_code, "category": p.category,
             "content": p.content, "planned_start": p.planned_start.isoformat(),
             "planned_end": p.planned_end.isoformat(), "implementing_unit": p.implementing_unit,
             "targets": p.targets, "budget_fen": p.budget_fen,
             "allocated_fen": int(allocated or 0), "disbursed_fen": int(disbursed or 0),
             "beneficiary_count": int(n or 0), "sources": funding.get(p.id, [])}
            for p, n, allocated, disbursed in rows]


async def _project_sources(tx: Tx, project_ids: list[str]) -> dict[str, list[dict]]:
    if not project_ids:
        return {}
    rows = (await tx.session.execute(
        sa.select(Allocation.project_id, Source.document_no, Source.name, Source.level,
                  Source.kind, Source.nature, sa.func.sum(Allocation.amount_fen))
        .join(Source, Source.id == Allocation.source_id)
        .where(Allocation.project_id.in_(project_ids))
        .group_by(Allocation.project_id, Source.document_no, Source.name, Source.level,
                  Source.kind, Source.nature)
        .order_by(Source.document_no))).all()
    out: dict[str, list[dict]] = defaultdict(list)
    for project_id, document_no, name, level, kind, nature, amount in rows:
        out[project_id].append({"document_no": document_no, "name": name, "level": level,
                                "kind": kind, "nature": nature, "amount_fen": int(amount)})
    return out
