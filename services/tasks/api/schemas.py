"""Request and response bodies of the tasks API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field

from services.tasks.domain.enums import (
    CoverageStatus,
    RectificationSource,
    RectificationStatus,
    TaskStatus,
)
from shared.schemas import RegionCode, RegionPrefix, Strict

Id = Annotated[str, Field(min_length=1, max_length=36, pattern=r"^[0-9a-fA-F-]+$")]
Text = Annotated[str, Field(max_length=10_000)]


class UnitCreate(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100, examples=["区扶贫办"])]
    region_code: RegionCode


class UnitRead(BaseModel):
    id: str
    name: str
    region_code: str


class OfficialCreate(Strict):
    name: Annotated[str, Field(min_length=1, max_length=50, examples=["周军"])]
    title: Annotated[str | None, Field(max_length=50, examples=["副区长"])] = None
    unit_id: Id


class OfficialRead(BaseModel):
    id: str
    name: str
    title: str | None
    unit_id: str | None
    region_code: str


class PlanCreate(Strict):
    title: Annotated[str, Field(min_length=1, max_length=200)]
    document_no: Annotated[str | None, Field(max_length=100, examples=["大扶办发〔2019〕23号"])] = None
    issued_on: dt.date
    region_code: RegionCode


class PlanRead(BaseModel):
    id: str
    title: str
    document_no: str | None
    issued_on: dt.date
    region_code: str


class Target(Strict):
    metric: Annotated[str, Field(min_length=1, max_length=100, examples=["新改建农村公路"])]
    unit: Annotated[str, Field(min_length=1, max_length=20, examples=["公里"])]
    value: Annotated[float, Field(gt=0, le=1e12, examples=[35])]


class TaskCreate(Strict):
    plan_id: Id | None = None
    title: Annotated[str, Field(min_length=1, max_length=300)]
    description: Text | None = None
    category: Annotated[str | None, Field(max_length=50)] = None
    region_code: RegionCode
    lead_unit_id: Id
    lead_official_id: Id | None = None
    cooperating_unit_ids: Annotated[list[Id], Field(max_length=50)] = []
    due_on: dt.date
    target: Target | None = None


class TaskRead(BaseModel):
    id: str
    plan_id: str | None
    title: str
    description: str | None
    category: str | None
    region_code: str
    lead_unit_id: str
    lead_official_id: str | None
    cooperating_unit_ids: list[str]
    due_on: dt.date
    target: Target | None
    progress_value: float | None
    progress_ratio: float | None = Field(description="progress_value ÷ target.value")
    status: TaskStatus
    overdue: bool
    evidence: str | None
    completed_on: dt.date | None
    days_late: int | None
    verified_on: dt.date | None
    version: int


class ProgressCreate(Strict):
    note: Annotated[str, Field(min_length=1, max_length=5_000)]
    value: Annotated[float | None, Field(ge=0, le=1e12,
                                         description="累计完成量 / cumulative amount done")] = None
    reported_on: dt.date


class ProgressRead(BaseModel):
    id: str
    task_id: str
    note: str
    value: float | None
    reported_on: dt.date


class CompleteBody(Strict):
    evidence: Annotated[str, Field(max_length=10_000, description="完成佐证 / evidence")] = ""
    completed_on: dt.date | None = None


class VerifyBody(Strict):
    verified_on: dt.date | None = None


class CancelBody(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class RectificationCreate(Strict):
    title: Annotated[str, Field(min_length=1, max_length=300)]
    source: RectificationSource
    region_code: RegionCode
    responsible_unit_id: Id
    responsible_person: Annotated[str, Field(min_length=1, max_length=50)]
    due_on: dt.date


class RectificationUpdate(Strict):
    responsible_person: Annotated[str | None, Field(min_length=1, max_length=50)] = None
    due_on: dt.date | None = None


class CloseBody(Strict):
    evidence: Annotated[str, Field(max_length=10_000)] = ""
    closed_on: dt.date | None = None


class RectificationRead(BaseModel):
    id: str
    title: str
    source: RectificationSource
    region_code: str
    responsible_unit_id: str
    responsible_person: str
    due_on: dt.date
    status: RectificationStatus
    overdue: bool
    evidence: str | None
    closed_on: dt.date | None
    version: int


class PairingBody(Strict):
    official_id: Id


class PairingRead(BaseModel):
    household_id: str
    official_id: str
    region_code: str
    version: int
    assigned_at: dt.datetime


class UncoveredHousehold(BaseModel):
    household_id: str
    region_code: str
    status: CoverageStatus | None
    monitored: bool


class Coverage(BaseModel):
    items: list[UncoveredHousehold]
    next_cursor: str | None = None
    needing: int = Field(description="poor, relapsed or monitored households in the region")
    uncovered: int = Field(description="of those, how many have no paired official")


class ScoreTotals(BaseModel):
    total: int
    completed: int
    verified: int
    overdue: int
    completion_rate: float
    average_days_late: float | None


class ScoreRow(ScoreTotals):
    unit_id: str
    unit_name: str
    region_code: str


class Scoreboard(BaseModel):
    region: str
    as_of: dt.date
    items: list[ScoreRow]
    totals: ScoreTotals = Field(description="the same figures over the whole region")


class RuleBody(Strict):
    region_code: RegionPrefix
    case_task_due_days: Annotated[int, Field(ge=1, le=365)] = 15
    rectification_due_days: Annotated[int, Field(ge=1, le=730)] = 30


class RuleRead(BaseModel):
    year: int
    region_prefix: str
    case_task_due_days: int
    rectification_due_days: int


class ImportedTaskRead(BaseModel):
    task_id: str
    number: str
    section: str | None
    title: str
    line: int
    lead_unit: str
    cooperating_units: list[str]
    lead_official: str | None
    lead_official_titles: list[str] = Field(description="牵头领导 given as a post, not a name")
    due_on: dt.date
    due_text: str | None


class UnplacedRead(BaseModel):
    line: int
    text: str
    reason: str


class PlanImportRead(BaseModel):
    plan: PlanRead
    tasks: list[ImportedTaskRead]
    unplaced: list[UnplacedRead]
    units_created: list[str]
    officials_created: list[str]
