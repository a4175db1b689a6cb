"""Request and response bodies for rules, incomes, guarantees, status and statistics."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

from services.registry.api.schemas import Strict
from services.registry.domain.enums import Cause, HouseholdStatus
from shared.money import Yuan, format_yuan

Fen = Annotated[int, PlainSerializer(format_yuan, return_type=str, when_used="json"),
                WithJsonSchema({"type": "string", "examples": ["4300.00"],
                                "description": "金额（元）/ amount in yuan (net may be < 0)"})]
"""A response amount: built from fen, written as a yuan string (no re-parsing)."""


def _percent_bp(value: Any) -> int:
    """"2", "2.5" or 2.5 (percent, at most 2 decimals) -> basis points of a percent."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise PydanticCustomError("invalid_percent", "百分比格式不正确 (percent must be a decimal)")
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        raise PydanticCustomError("invalid_percent", "百分比格式不正确 (not a decimal)") from None
    if not number.is_finite() or number <= 0 or number > 100:
        raise PydanticCustomError("invalid_percent", "百分比应在 0 到 100 之间 (out of range)")
    scaled = number * 100
    if scaled != scaled.to_integral_value():
        raise PydanticCustomError("too_many_decimals", "百分比最多两位小数 (at most 2 decimals)")
    return int(scaled)


Percent = Annotated[int, BeforeValidator(_percent_bp), WithJsonSchema(
    {"type": "string", "examples": ["2.00"], "description": "百分比 / percent, ≤ 2 decimals"})]


def format_percent(bp: int) -> str:
    return f"{bp // 100}.{bp % 100:02d}"


class PovertyLineIn(Strict):
    region_code: Annotated[str, Field(max_length=12, examples=["", "43", "510311"])]
    amount: Yuan


class PovertyLineRead(BaseModel):
    year: int
    region_code: str = Field(description="规则所在的区划前缀（\"\" 为全国）/ the rule's prefix")
    amount: Fen
    version: int
    updated_at: dt.datetime


class EffectivePovertyLine(BaseModel):
    year: int
    region_code: str = Field(description="查询的区划 / the region asked about")
    matched_prefix: str = Field(description="生效规则的区划前缀 / prefix of the rule that applies")
    amount: Fen


class ExitThresholdIn(Strict):
    threshold_percent: Percent


class ExitThresholdRead(BaseModel):
    region_code: str
    matched_prefix: str | None = Field(
        description="生效规则的前缀；null 表示默认 2% / null: the built-in default applies")
    threshold_percent: str


class IncomeIn(Strict):
    wage: Yuan = Field(description="工资性收入")
    business: Yuan = Field(description="生产经营性收入")
    property: Yuan = Field(description="财产性收入")
    transfer: Yuan = Field(description="转移性收入")
    business_cost: Yuan = Field(description="生产经营性支出")


class IncomeRead(BaseModel):
    household_id: str
    year: int
    wage: Fen
    business: Fen
    property: Fen
    transfer: Fen
    business_cost: Fen
    net_income: Fen = Field(description="纯收入 = 四项收入 − 生产经营性支出")
    per_capita_net_income: Fen = Field(description="人均纯收入 = 纯收入 ÷ 现有人口，四舍五入到分")
    member_count: int
    version: int
    recorded_at: dt.datetime

    @classmethod
    def of(cls, row: Any) -> IncomeRead:
        return cls(household_id=row.household_id, year=row.year, wage=row.wage_fen,
                   business=row.business_fen, property=row.property_fen,
                   transfer=row.transfer_fen, business_cost=row.business_cost_fen,
                   net_income=row.net_income_fen,
                   per_capita_net_income=row.per_capita_net_income_fen,
                   member_count=row.member_count, version=row.version,
                   recorded_at=row.recorded_at)


class GuaranteesIn(Strict):
    food: bool = Field(description="不愁吃")
    clothing: bool = Field(description="不愁穿")
    compulsory_education: bool = Field(description="义务教育有保障")
    basic_medical: bool = Field(description="基本医疗有保障")
    housing_safety: bool = Field(description="住房安全有保障")
    drinking_water: bool = Field(description="饮水安全有保障")
    assessed_on: dt.date


class GuaranteesRead(BaseModel):
    id: str
    household_id: str
    food: bool
    clothing: bool
    compulsory_education: bool
    basic_medical: bool
    housing_safety: bool
    drinking_water: bool
    assessed_on: dt.date
    unmet: list[str]
    recorded_by: str
    recorded_at: dt.datetime


class RelapseIn(Strict):
    reason: Cause
    occurred_on: dt.date


class StatusChangeRead(BaseModel):
    id: str
    from_status: HouseholdStatus | None
    to_status: HouseholdStatus
    year: int | None
    reason: Cause | None
    occurred_on: dt.date | None
    actor: str
    at: dt.datetime


class Tally(BaseModel):
    total: int
    by_status: dict[str, int]
    by_attribute: dict[str, int]
    by_primary_cause: dict[str, int]


class VillageIncidence(BaseModel):
    code: str
    name: str
    is_poor_village: bool
    population: int | None
    exited_year: int | None
    poor_people: int = Field(description="未脱贫与返贫户的现有人口 / people in poor and relapsed households")
    incidence_percent: str | None = Field(description="贫困发生率（%）；人口未登记时为 null")


class StatsRead(BaseModel):
    region: str
    households: Tally
    people: Tally
    villages: list[VillageIncidence]

