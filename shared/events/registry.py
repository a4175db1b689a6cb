"""Events the registry service (建档立卡) publishes."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from shared.events.envelope import EventData, event_type
from shared.events.topics import HOUSEHOLDS, REGIONS


class MemberFacts(EventData):
    """What other services may know of a member: no name, no ID number."""

    member_id: str
    relation: str
    labor_ability: str
    health: str
    schooling: str
    sex: str
    birth_year: int
    id_hash: str = Field(description="HMAC blind index of the ID number (keyed; not reversible)")


@event_type("registry.household.registered", topic=HOUSEHOLDS, summary="贫困户建档立卡 / household registered")
class HouseholdRegistered(EventData):
    household_id: str
    household_no: str
    region_code: str
    status: str
    attribute: str
    identified_year: int
    primary_cause: str
    secondary_causes: list[str]
    members: list[MemberFacts]


@event_type("registry.household.updated", topic=HOUSEHOLDS, summary="户信息变更 / household attributes changed")
class HouseholdUpdated(EventData):
    household_id: str
    region_code: str
    changed: list[str]
    attribute: str
    primary_cause: str
    secondary_causes: list[str]
    version: int
    head_member_id: str | None = Field(default=None, description="户主 member id after the change")


@event_type("registry.household.member_added", topic=HOUSEHOLDS, summary="新增家庭成员 / member added")
class MemberAdded(EventData):
    household_id: str
    region_code: str
    member: MemberFacts
    member_count: int


@event_type("registry.household.member_removed", topic=HOUSEHOLDS, summary="减少家庭成员 / member removed")
class MemberRemoved(EventData):
    household_id: str
    region_code: str
    member_id: str
    reason: str
    member_count: int


@event_type("registry.household.income_recorded", topic=HOUSEHOLDS, summary="年度收入登记 / yearly income recorded")
class IncomeRecorded(EventData):
    household_id: str
    region_code: str
    year: int
    net_income_fen: int
    per_capita_net_income_fen: int
    member_count: int


@event_type("registry.household.guarantees_assessed", topic=HOUSEHOLDS, summary="两不愁三保障评估 / guarantees assessed")
class GuaranteesAssessed(EventData):
    household_id: str
    region_code: str
    assessed_on: dt.date
    food: bool
    clothing: bool
    compulsory_education: bool
    basic_medical: bool
    housing_safety: bool
    drinking_water: bool
    unmet: list[str]


@event_type("registry.household.exited", topic=HOUSEHOLDS, summary="脱贫 / household exited poverty")
class HouseholdExited(EventData):
    household_id: str
    region_code: str
    year: int
    per_capita_net_income_fen: int | None = None
    poverty_line_fen: int | None = None


@event_type("registry.household.relapsed", topic=HOUSEHOLDS, summary="返贫 / household relapsed")
class HouseholdRelapsed(EventData):
    household_id: str
    region_code: str
    reason: str
    occurred_on: dt.date


@event_type("registry.region.created", topic=REGIONS, summary="新建行政区域 / region created")
class RegionCreated(EventData):
    code: str
    level: str
    parent_code: str | None


@event_type("registry.region.updated", topic=REGIONS, summary="村属性变更 / village attributes changed")
class RegionUpdated(EventData):
    code: str
    is_poor_village: bool
    population: int | None
    version: int


@event_type("registry.region.exited", topic=REGIONS, summary="贫困村出列 / poor village exited")
class RegionExited(EventData):
    code: str
    year: int
    poor_people: int
    population: int
    threshold_bp: int | None = Field(default=None, description="出列 threshold, 1/100 of a percent")
