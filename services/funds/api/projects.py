"""Routes for the project library (项目库): 村申报 → 乡审核 → 县审定, roll-over."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from services.funds.api.deps import Reader, Writer
from services.funds.api.schemas import ProjectCreate, ProjectRead, RolloverRequest, RolloverResult
from services.funds.db.tables import Project
from services.funds.domain import projects
from services.funds.domain.enums import ProjectStatus
from shared.auth import Principal
from shared.tx import Tx
from shared.web import Page, PageDep, TxDep, etag, page_of, service_router

router = service_router("funds", tags=["funds: projects 项目库"])


async def project_reads(tx: Tx, found: list[Project]) -> list[ProjectRead]:
    """Read models with totals and beneficiaries, for any number of projects at once."""
    ids = [p.id for p in found]
    sums, households = await projects.totals(tx, ids), await projects.beneficiaries(tx, ids)
    return [ProjectRead(**p.model_dump(), budget=p.budget_fen,
                        beneficiary_household_ids=households[p.id],
                        beneficiary_count=len(households[p.id]), allocated=sums[p.id][0],
                        disbursed=sums[p.id][1], available=sums[p.id][0] - sums[p.id][1])
            for p in found]


async def project_read(tx: Tx, project: Project) -> ProjectRead:
    return (await project_reads(tx, [project]))[0]


@router.post("/projects", status_code=201, response_model=ProjectRead,
             summary="村申报：项目入库 / propose a project into the library")
async def create_project(body: ProjectCreate, tx: TxDep, principal: Writer,
                         response: Response) -> ProjectRead:
    principal.ensure_writable(body.region_code)
    project = await projects.propose_project(
        tx, name=body.name, region_code=body.region_code, category=body.category.value,
        budget_fen=body.budget, planned_start=body.planned_start, planned_end=body.planned_end,
        beneficiary_household_ids=body.beneficiary_household_ids,
        fiscal_year=body.fiscal_year, content=body.content,
        implementing_unit=body.implementing_unit, targets=body.targets)
    response.headers["ETag"] = etag(project.version)
    response.headers["Location"] = f"/api/v1/funds/projects/{project.id}"
    return await project_read(tx, project)


async def _writable(tx: Tx, principal: Principal, project_id: str) -> None:
    project = await projects.get_project(tx, project_id)
    principal.ensure_visible(project.region_code, "项目")
    principal.ensure_writable(project.region_code)


@router.post("/projects/{project_id}/review", response_model=ProjectRead,
             summary="乡审核 / township review")
async def review_project(project_id: str, tx: TxDep, principal: Writer,
                         response: Response) -> ProjectRead:
    await _writable(tx, principal, project_id)
    project = await projects.review_project(tx, project_id)
    response.headers["ETag"] = etag(project.version)
    return await project_read(tx, project)


@router.post("/projects/{project_id}/approve", response_model=ProjectRead,
             summary="县审定 / county approval")
async def approve_project(project_id: str, tx: TxDep, principal: Writer,
                          response: Response) -> ProjectRead:
    await _writable(tx, principal, project_id)
    project = await projects.approve_project(tx, project_id)
    response.headers["ETag"] = etag(project.version)
    return await project_read(tx, project)


@router.post("/projects/rollover", response_model=RolloverResult,
             summary="未安排资金的项目结转下年度项目库 / roll unfunded projects over")
async def rollover(body: RolloverRequest, tx: TxDep, principal: Writer) -> RolloverResult:
    principal.ensure_writable(body.region or principal.region)
    region = principal.narrow(body.region)
    moved = await projects.roll_over(tx, from_year=body.from_year, region=region)
    return RolloverResult(rolled_over=len(moved), to_year=body.from_year + 1,
                          project_ids=[p.id for p in moved])


@router.get("/projects/{project_id}", response_model=ProjectRead,
            summary="查询项目（含已分配、已支出、可用） / read a project")
async def get_project(project_id: str, tx: TxDep, principal: Reader,
                      response: Response) -> ProjectRead:
    project = await projects.get_project(tx, project_id)
    principal.ensure_visible(project.region_code, "项目")
    response.headers["ETag"] = etag(project.version)
    return await project_read(tx, project)


@router.get("/projects", response_model=Page[ProjectRead], summary="项目库 / list projects")
async def list_projects(tx: TxDep, principal: Reader, page: PageDep,
                        region: Annotated[str | None, Query(max_length=12)] = None,
                        fiscal_year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
                        status: ProjectStatus | None = None) -> Page:
    found = await projects.list_projects(
        tx, region=principal.narrow(region), fiscal_year=fiscal_year,
        status=status.value if status else None, limit=page.limit, after=page.after)
    return page_of(await project_reads(tx, found), page.limit, key=lambda p: p.id)
