"""Request and response bodies of the registry API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field, model_validator
from pydantic_core import PydanticCustomError

from services.registry.domain.enums import (
    Attribute,
    Cause,
    Health,
    HouseholdStatus,
    LaborAbility,
    RegionLevelEnum,
    Relation,
    Schooling,
    Sex,
)
from shared.schemas import IdNumber, RegionCode, Strict

Name = Annotated[str, Field(min_length=1, max_length=50, examples=["张三"])]


class RegionCreate(Strict):
    code: RegionCode
    name: Annotated[str, Field(min_length=1, max_length=100, examples=["某某村"])]
    parent_code: RegionCode | None = None


class RegionRead(BaseModel):
    code: str
    name: str
    level: RegionLevelEnum
    parent_code: str | None
    is_poor_village: bool
    population: int | None
    exited_year: int | None
    version: int


class MemberCreate(Strict):
    name: Name
    id_number: IdNumber
    relation: Relation
    labor_ability: LaborAbility
    health: Health
    schooling: Schooling


class MemberRead(BaseModel):
    id: str
    name: str
    id_number: str = Field(description="脱敏显示，除非调用方有 pii:read / masked unless pii:read")
    relation: Relation
    labor_ability: LaborAbility
    health: Health
    schooling: Schooling
    sex: Sex
    birth_date: dt.date
    removed_on: dt.date | None = None
    removed_reason: str | None = None


class HouseholdCreate(Strict):
    village_code: RegionCode
    attribute: Attribute
    identified_year: Annotated[int, Field(ge=2013, le=2100)]
    primary_cause: Cause
    secondary_causes: Annotated[list[Cause], Field(max_length=2)] = []
    members: Annotated[list[MemberCreate], Field(min_length=1, max_length=30)]

    @model_validator(mode="after")
    def _one_head(self) -> HouseholdCreate:
        heads = sum(1 for m in self.members if m.relation == Relation.head)
        if heads != 1:
            raise PydanticCustomError(
                "head_count", "每户必须有且只有一名户主 (exactly one member must be the head)")
        return self


class HouseholdRead(BaseModel):
    id: str
    household_no: str
    village_code: str
    status: HouseholdStatus
    attribute: Attribute
    identified_year: int
    primary_cause: Cause
    secondary_causes: list[Cause]
    members: list[MemberRead]
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class RegionUpdate(Strict):
    is_poor_village: bool | None = None
    population: Annotated[int | None, Field(ge=0, le=10_000_000)] = None


Year = Annotated[int, Field(ge=2013, le=2100, examples=[2019])]


class YearBody(Strict):
    year: Year


class HouseholdUpdate(Strict):
    attribute: Attribute | None = None
    primary_cause: Cause | None = None
    secondary_causes: Annotated[list[Cause] | None, Field(max_length=2)] = None
    head_member_id: str | None = Field(default=None, description="户主变更：新户主的成员 id")
    former_head_relation: Relation = Field(
        default=Relation.other, description="户主变更时原户主的新关系 / the former head's relation")
