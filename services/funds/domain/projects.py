"""The project library (项目库): 村申报 → 乡审核 → 县审定, and roll-over of unfunded projects."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from services.funds.db.tables import Allocation, AllocationBalance, Beneficiary, Project
from services.funds.domain.common import check_fiscal_year, rule_for
from services.funds.domain.enums import ProjectStatus
from services.funds.domain.projection import check_households
from shared.errors import NotFound, Unprocessable
from shared.events.funds import ProjectApproved, ProjectRolledOver
from shared.ids import new_id
from shared.tx import Tx


async def propose_project(tx: Tx, *, name: str, region_code: str, category: str,
                          budget_fen: int, planned_start: dt.date, planned_end: dt.date,
                          beneficiary_household_ids: list[str], fiscal_year: int | None = None,
                          content: str | None = None, implementing_unit: str | None = None,
                          targets: str | None = None) -> Project:
    """村申报: a project enters the library as `proposed`."""
    year = fiscal_year if fiscal_year is not None else planned_start.year
    check_fiscal_year(year)
    if planned_end < planned_start:
        raise Unprocessable("invalid_period", "计划完成日期早于开始日期 (planned_end before start)",
                            field="planned_end")
    households = sorted(set(beneficiary_household_ids))
    await check_households(tx, households, region_code=region_code,
                           field="beneficiary_household_ids")
    project = Project(
        id=new_id(), name=name, region_code=region_code, category=category, fiscal_year=year,
        budget_fen=budget_fen, planned_start=planned_start, planned_end=planned_end,
        content=content, implementing_unit=implementing_unit, targets=targets,
        status=ProjectStatus.proposed.value, proposed_by=tx.actor)
    tx.session.add(project)
    await tx.session.flush()
    if households:
        await tx.session.execute(sa.insert(Beneficiary), [
            {"project_id": project.id, "household_id": h} for h in households])
    tx.audit("project.propose", "project", project.id, region_code=region_code,
             after=_snapshot(project, len(households)))
    return project


async def review_project(tx: Tx, project_id: str) -> Project:
    """乡审核: a proposed project passes the township review."""
    project = await get_project(tx, project_id, lock=True)
    if project.status != ProjectStatus.proposed:
        raise Unprocessable("invalid_status", "只有村申报状态的项目可以审核 (not proposed)",
                            field="status")
    before = _snapshot(project)
    project.status = ProjectStatus.reviewed.value
    project.reviewed_by, project.reviewed_at = tx.actor, dt.datetime.now(dt.UTC)
    project.version += 1
    tx.audit("project.review", "project", project.id, region_code=project.region_code,
             before=before, after=_snapshot(project))
    return project


async def approve_project(tx: Tx, project_id: str) -> Project:
    """县审定: approval; straight from `proposed` unless the region's rule demands the review."""
    project = await get_project(tx, project_id, lock=True)
    if project.status == ProjectStatus.approved:
        raise Unprocessable("invalid_status", "项目已审定 (already approved)", field="status")
    rule = await rule_for(tx, year=project.fiscal_year, region_code=project.region_code)
    if project.status == ProjectStatus.proposed and rule.require_township_review:
        raise Unprocessable("review_required",
                            "本地区规定项目须先经乡镇审核 (township review required first)",
                            field="status")
    before = _snapshot(project)
    project.status = ProjectStatus.approved.value
    project.approved_by, project.approved_at = tx.actor, dt.datetime.now(dt.UTC)
    project.version += 1
    count = await beneficiary_count(tx, project.id)
    tx.emit(ProjectApproved(project_id=project.id, region_code=project.region_code,
                            category=project.category, budget_fen=project.budget_fen,
                            beneficiary_count=count),
            subject=project.id, region_code=project.region_code)
    tx.audit("project.approve", "project", project.id, region_code=project.region_code,
             before=before, after=_snapshot(project))
    return project


async def roll_over(tx: Tx, *, from_year: int, region: str) -> list[Project]:
    """Move the region's projects of `from_year` that received no allocation to next year."""
    check_fiscal_year(from_year + 1, field_name="from_year")
    funded = sa.select(Allocation.project_id)
    query = (sa.select(Project).where(Project.fiscal_year == from_year,
                                      Project.region_code.startswith(region),
                                      Project.id.not_in(funded))
             .order_by(Project.id).with_for_update())
    moved = list((await tx.session.execute(query)).scalars().all())
    for project in moved:
        project.fiscal_year = from_year + 1
        project.rolled_over_from = from_year
        project.version += 1
        tx.emit(ProjectRolledOver(project_id=project.id, region_code=project.region_code,
                                  from_year=from_year, to_year=from_year + 1),
                subject=project.id, region_code=project.region_code)
        tx.audit("project.roll_over", "project", project.id, region_code=project.region_code,
                 before={"fiscal_year": from_year}, after={"fiscal_year": from_year + 1})
    return moved


async def get_project(tx: Tx, project_id: str, *, lock: bool = False) -> Project:
    project = await tx.session.get(Project, project_id, with_for_update=lock,
                                   populate_existing=lock)
    if project is None:
        raise NotFound("项目")
    return project


async def beneficiary_count(tx: Tx, project_id: str) -> int:
    return int(await tx.session.scalar(
        sa.select(sa.func.count()).select_from(Beneficiary)
        .where(Beneficiary.project_id == project_id)) or 0)


async def beneficiaries(tx: Tx, project_ids: list[str]) -> dict[str, list[str]]:
    rows = (await tx.session.execute(
        sa.select(Beneficiary.project_id, Beneficiary.household_id)
        .where(Beneficiary.project_id.in_(project_ids))
        .order_by(Beneficiary.project_id, Beneficiary.household_id))).all()
    out: dict[str, list[str]] = {i: [] for i in project_ids}
    for project_id, household_id in rows:
        out[project_id].append(household_id)
    return out


async def totals(tx: Tx, project_ids: list[str]) -> dict[str, tuple[int, int]]:
    """(allocated, net disbursed) per project, in one aggregate query."""
    rows = (await tx.session.execute(
        sa.select(Allocation.project_id, sa.func.sum(Allocation.amount_fen),
                  sa.func.sum(AllocationBalance.disbursed_fen))
        .join(AllocationBalance, AllocationBalance.allocation_id == Allocation.id)
        .where(Allocation.project_id.in_(project_ids))
        .group_by(Allocation.project_id))).all()
    found = {r[0]: (int(r[1]), int(r[2])) for r in rows}
    return {i: found.get(i, (0, 0)) for i in project_ids}


async def list_projects(tx: Tx, *, region: str, fiscal_year: int | None, status: str | None,
                        limit: int, after: str | None) -> list[Project]:
    query = sa.select(Project).where(Project.region_code.startswith(region)).order_by(Project.id)
    if fiscal_year is not None:
        query = query.where(Project.fiscal_year == fiscal_year)
    if status is not None:
        query = query.where(Project.status == status)
    if after:
        query = query.where(Project.id > after)
    return list((await tx.session.execute(query.limit(limit + 1))).scalars().all())


def _snapshot(project: Project, beneficiaries: int | None = None) -> dict:
    data = project.model_dump(mode="json")
    if beneficiaries is not None:
        data["beneficiary_count"] = beneficiaries
    return data
