"""Request and response bodies of the monitoring API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field, PlainSerializer, WithJsonSchema

from services.monitoring.domain.enums import (
    AlertSource,
    AlertStatus,
    CaseStatus,
    Category,
    DecisionStep,
    Department,
    MeasureKind,
    RiskType,
    SignalKind,
    SignalSource,
)
from shared.money import Yuan, format_yuan
from shared.schemas import IdNumber, RegionPrefix, Strict

YuanOut = Annotated[int, PlainSerializer(format_yuan, return_type=str, when_used="json"),
                    WithJsonSchema({"type": "string", "examples": ["6000.00"],
                                    "description": "金额（元）/ amount in yuan"})]
"""A stored fen amount rendered as a yuan string (responses only)."""

Year = Annotated[int, Field(ge=2013, le=2100)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]


class LineSet(Strict):
    region_code: RegionPrefix = Field(description="区划前缀，\"\" 为全国 / region prefix, \"\" national")
    amount: Yuan


class LineRead(BaseModel):
    year: int
    region_code: str
    amount: YuanOut
    version: int


class RuleSet(Strict):
    """Omitted fields take the documented default."""

    region_code: RegionPrefix
    due_days: Annotated[int, Field(ge=1, le=90, description="认定时限（天）/ time limit")] = 15
    working_days: bool = Field(default=False, description="按工作日计 / count working days")
    min_monitoring_months: Annotated[int, Field(ge=0, le=60)] = 6
    county_approval_required: bool = Field(
        default=False, description="纳入监测须经县级审定 / enrolment needs the county step")
    min_notice_days: Annotated[int, Field(ge=1, le=30, description="公示天数下限")] = 5


class RuleRead(BaseModel):
    year: int
    region_code: str | None = Field(description="生效规则的区划前缀；null 为默认值 / null: defaults")
    due_days: int
    working_days: bool
    min_monitoring_months: int
    county_approval_required: bool
    min_notice_days: int
    version: int | None = None


class SignalCreate(Strict):
    household_id: Annotated[str | None, Field(max_length=36)] = None
    id_number: IdNumber | None = Field(default=None, description="仅用于匹配，不保存 / never stored")
    source: SignalSource
    department: Department | None = None
    kind: SignalKind
    amount: Yuan | None = Field(default=None, description="涉及金额（如医疗支出）/ amount")
    occurred_on: dt.date
    detail: Annotated[str | None, Field(max_length=2000)] = None


class SignalRead(BaseModel):
    id: str
    alert_id: str | None
    household_id: str | None
    region_code: str
    source: SignalSource
    department: Department | None
    kind: SignalKind
    amount: YuanOut | None
    occurred_on: dt.date
    detail: str | None
    received_by: str
    received_at: dt.datetime
    matched_at: dt.datetime | None


class SignalMatch(Strict):
    household_id: Annotated[str, Field(min_length=1, max_length=36)]


class StepCreate(Strict):
    step: DecisionStep
    decided_on: dt.date
    note: Annotated[str | None, Field(max_length=2000)] = None
    notice_from: dt.date | None = Field(default=None, description="公示开始 / notice start")
    notice_to: dt.date | None = Field(default=None, description="公示结束（含）/ notice end")


class StepRead(BaseModel):
    id: str
    step: DecisionStep
    decided_on: dt.date
    notice_from: dt.date | None
    notice_to: dt.date | None
    note: str | None
    recorded_by: str
    recorded_at: dt.datetime


class AlertRead(BaseModel):
    id: str
    household_id: str
    region_code: str
    kinds: list[SignalKind]
    sources: list[AlertSource]
    raised_at: dt.datetime
    raised_on: dt.date
    due_on: dt.date
    status: AlertStatus
    overdue: bool
    reason: str | None
    decided_on: dt.date | None
    case_id: str | None
    version: int
    steps: list[StepRead] | None = None


class EnrollCreate(Strict):
    category: Category
    risk_types: Annotated[list[RiskType], Field(min_length=1, max_length=15)]
    decided_on: dt.date


class DismissCreate(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=500)]
    decided_on: dt.date | None = None


class MeasureCreate(Strict):
    kind: MeasureKind
    description: Text
    started_on: dt.date


class MeasureRead(BaseModel):
    id: str
    case_id: str
    kind: MeasureKind
    description: str
    started_on: dt.date
    recorded_by: str
    created_at: dt.datetime


class HistoryItem(BaseModel):
    at: dt.datetime
    actor: str
    action: str
    resource_type: str


class CaseRead(BaseModel):
    id: str
    alert_id: str
    household_id: str
    region_code: str
    category: Category
    risk_types: list[RiskType]
    enrolled_on: dt.date
    status: CaseStatus
    eliminated_on: dt.date | None
    version: int
    measures: list[MeasureRead] | None = None
    steps: list[StepRead] | None = Field(default=None, description="认定程序 / identification")
    elimination_steps: list[StepRead] | None = Field(
        default=None, description="风险消除程序 / elimination procedure")
    history: list[HistoryItem] | None = None


class EliminateCreate(Strict):
    decided_on: dt.date
    year: Year | None = Field(default=None, description="收入年度，默认 decided_on 的年度 / income year")


class SweepCreate(Strict):
    year: Year
    region: RegionPrefix


class SweepRead(BaseModel):
    evaluated: int
    alerts_raised: int
