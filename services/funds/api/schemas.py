"""Request and response bodies of the funds API. Amounts are `Yuan` (fen inside)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, Field, PlainSerializer, WithJsonSchema

from services.funds.domain.enums import AlertKind, Category, FundKind, FundLevel, ProjectStatus
from shared.money import Yuan, format_yuan
from shared.schemas import RegionCode, RegionPrefix, Strict

Fen = Annotated[int, PlainSerializer(format_yuan, return_type=str, when_used="json"),
                WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$",
                                "description": "金额（元） / amount in yuan", "examples": ["4300.00"]})]
"""A response amount: built from fen, written as a yuan string (input uses `Yuan`)."""
Year = Annotated[int, Field(ge=2000, le=2100)]
Text = Annotated[str, Field(min_length=1, max_length=200)]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]


class SourceCreate(Strict):
    name: Text
    level: FundLevel
    kind: FundKind
    fiscal_year: Year
    document_no: Annotated[str, Field(min_length=1, max_length=100,
                                      description="指标文件文号")]
    region_code: RegionCode
    amount: Yuan
    permitted_categories: Annotated[list[Category], Field(min_length=1)]
    nature: Annotated[str | None, Field(max_length=100, description="资金性质")] = None
    expenditure_class: Annotated[str | None, Field(max_length=200,
                                                   description="支出功能分类科目")] = None


class SourceRead(BaseModel):
    id: str
    name: str
    level: FundLevel
    kind: FundKind
    fiscal_year: int
    document_no: str
    nature: str | None
    expenditure_class: str | None
    region_code: str
    amount: Fen
    permitted_categories: list[Category]
    allocated: Fen
    disbursed: Fen
    available: Fen
    created_at: dt.datetime


class ProjectCreate(Strict):
    name: Text
    region_code: RegionCode
    category: Category
    budget: Yuan
    planned_start: dt.date
    planned_end: dt.date
    beneficiary_household_ids: Annotated[list[str], Field(max_length=5000)] = []
    fiscal_year: Year | None = Field(default=None,
                                     description="项目库年度，缺省为计划开始年份")
    content: Annotated[str | None, Field(max_length=2000, description="建设内容")] = None
    implementing_unit: Annotated[str | None, Field(max_length=200,
                                                   description="实施单位")] = None
    targets: Annotated[str | None, Field(max_length=1000, description="绩效目标")] = None


class ProjectRead(BaseModel):
    id: str
    name: str
    region_code: str
    category: Category
    fiscal_year: int
    budget: Fen
    planned_start: dt.date
    planned_end: dt.date
    content: str | None
    implementing_unit: str | None
    targets: str | None
    status: ProjectStatus
    proposed_by: str
    proposed_at: dt.datetime
    reviewed_by: str | None
    reviewed_at: dt.datetime | None
    approved_by: str | None
    approved_at: dt.datetime | None
    rolled_over_from: int | None
    beneficiary_household_ids: list[str]
    beneficiary_count: int
    allocated: Fen
    disbursed: Fen
    available: Fen = Field(description="已分配未支出 / allocated, not yet paid out")
    version: int


class RolloverRequest(Strict):
    from_year: Year
    region: RegionPrefix = ""


class RolloverResult(BaseModel):
    rolled_over: int
    to_year: int
    project_ids: list[str]


class AllocationCreate(Strict):
    source_id: Annotated[str, Field(max_length=36)]
    project_id: Annotated[str, Field(max_length=36)]
    amount: Yuan
    document_no: Annotated[str, Field(min_length=1, max_length=100)]
    allocated_on: dt.date


class AllocationRead(BaseModel):
    id: str
    source_id: str
    project_id: str
    region_code: str
    amount: Fen
    document_no: str
    allocated_on: dt.date
    created_by: str
    created_at: dt.datetime
    disbursed: Fen | None = None
    available: Fen | None = None


class DisbursementCreate(Strict):
    allocation_id: Annotated[str, Field(max_length=36)]
    amount: Yuan
    payee: Text
    paid_on: dt.date
    voucher_no: Annotated[str, Field(min_length=1, max_length=100)]
    household_id: Annotated[str | None, Field(max_length=36)] = None


class DisbursementRead(BaseModel):
    id: str
    allocation_id: str
    project_id: str
    region_code: str
    amount: Fen
    payee: str
    paid_on: dt.date
    voucher_no: str
    household_id: str | None
    created_by: str
    created_at: dt.datetime
    reversed: bool = False


class ReverseRequest(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class ReversalRead(BaseModel):
    id: str
    disbursement_id: str
    allocation_id: str
    amount: Fen
    reason: str
    created_by: str
    created_at: dt.datetime


class RuleSet(Strict):
    region_code: RegionPrefix = ""
    stagnant_days: Annotated[int | None, Field(ge=1, le=3650)] = None
    require_township_review: bool | None = None
    min_shares: dict[Category, Percent] = Field(
        default_factory=dict, description="类别最低占比（百分数），如 {\"industry\": \"55\"}")
    share_kinds: list[FundKind] = Field(
        default_factory=list, description="计算占比的资金类别，缺省 fiscal_special（衔接资金）")


class RuleRead(BaseModel):
    fiscal_year: int
    region_code: str
    stagnant_days: int | None
    require_township_review: bool | None
    min_shares: dict[str, str]
    share_kinds: list[str]
    version: int
    updated_by: str
    updated_at: dt.datetime


class AlertRead(BaseModel):
    id: str
    kind: AlertKind
    region_code: str
    project_id: str | None
    allocation_id: str | None
    disbursement_id: str | None
    amount: Fen | None
    detail: dict[str, Any]
    raised_on: dt.date
    raised_at: dt.datetime


def yuanify(value: Any) -> Any:
    """Render a read model for JSON: every `x_fen` integer becomes `x` as a yuan string."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key.endswith("_fen") and (item is None or isinstance(item, int)):
                out[key[:-4]] = None if item is None else format_yuan(item)
            else:
                out[key] = yuanify(item)
        return out
    if isinstance(value, list):
        return [yuanify(v) for v in value]
    return value
