"""The registry's own tables. No other service reads them."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from shared.db import UtcDateTime
from shared.infra import infra_tables


class RegistryTable(SQLModel, registry=registry()):
    pass


metadata = RegistryTable.metadata
infra = infra_tables(metadata)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_TS = UtcDateTime()


class Region(RegistryTable, table=True):
    __tablename__ = "regions"

    code: str = Field(primary_key=True, max_length=12)
    name: str = Field(max_length=100)
    level: str = Field(max_length=10)
    parent_code: str | None = Field(default=None, max_length=12, index=True)
    is_poor_village: bool = False
    population: int | None = None
    exit_threshold_permille: int | None = None
    exited_year: int | None = None
    version: int = 1
    created_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)


REGION_PREFIX_INDEXES = {4: "ix_households_city_id", 6: "ix_households_county_id",
                         9: "ix_households_township_id"}
"""Households by region level above the village: (first n digits of the region code, id).
A page of a county's households in id order reads its county's entries of the index, where
`region_code LIKE '430902%' ORDER BY id` walks the primary key through every household that
precedes them (a village is `region_code = ...` on ix_households_region_id)."""


def region_prefix(column: sa.ColumnElement[str], digits: int) -> sa.ColumnElement[str]:
    """`substr(column, 1, digits)` with the numbers written into the SQL, as in the index
    expression (a bound parameter would not match it)."""
    return sa.func.substr(column, sa.literal_column("1"), sa.literal_column(str(digits)))


class Household(RegistryTable, table=True):
    __tablename__ = "households"
    __table_args__ = (
        sa.Index("ix_households_region_id", "region_code", "id"),
        *(sa.Index(name, sa.text(f"substr(region_code, 1, {digits})"), "id")
          for digits, name in REGION_PREFIX_INDEXES.items()),
    )

    id: str = Field(primary_key=True, max_length=36)
    household_no: str = Field(max_length=40, unique=True)
    region_code: str = Field(max_length=12)
    status: str = Field(max_length=10, index=True)
    attribute: str = Field(max_length=10)
    identified_year: int
    primary_cause: str = Field(max_length=20)
    secondary_causes: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    version: int = 1
    created_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)
    updated_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)


class Member(RegistryTable, table=True):
    __tablename__ = "members"
    __table_args__ = (
        # A person belongs to one household at a time (removed members keep their row).
        # Every look-up by blind index is of current members, so this index serves them.
        sa.Index("ux_members_active_person", "id_hash", unique=True,
                 postgresql_where=sa.text("removed_on IS NULL"),
                 sqlite_where=sa.text("removed_on IS NULL")),
        sa.Index("ix_members_household", "household_id"),
        sa.Index("ix_members_name", "name"),
    )

    id: str = Field(primary_key=True, max_length=36)
    household_id: str = Field(max_length=36, foreign_key="households.id")
    name: str = Field(max_length=50)
    id_cipher: str = Field(max_length=200)
    id_hash: str = Field(max_length=64)
    relation: str = Field(max_length=12)
    labor_ability: str = Field(max_length=10)
    health: str = Field(max_length=20)
    schooling: str = Field(max_length=12)
    sex: str = Field(max_length=6)
    birth_date: dt.date
    removed_on: dt.date | None = None
    removed_reason: str | None = Field(default=None, max_length=20)
    created_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)


class HouseholdStat(RegistryTable, table=True):
    """Maintained statistics (统计): households and their current members per village and
    (status, attribute, primary cause). Rewritten for the touched villages in the same
    transaction as every write that changes them (services/registry/domain/counters.py);
    `GET /stats` sums these rows instead of reading every member."""

    __tablename__ = "household_stats"

    village_code: str = Field(primary_key=True, max_length=12)
    status: str = Field(primary_key=True, max_length=10)
    attribute: str = Field(primary_key=True, max_length=10)
    primary_cause: str = Field(primary_key=True, max_length=20)
    households: int
    people: int


class CountyStat(RegistryTable, table=True):
    """`household_stats` summed per county (the first six digits of the village code), so a
    province or city sums some thousand rows instead of every village's. Kept by the same
    writes, from the change of their villages' rows (counters.py)."""

    __tablename__ = "county_stats"

    county_code: str = Field(primary_key=True, max_length=6)
    status: str = Field(primary_key=True, max_length=10)
    attribute: str = Field(primary_key=True, max_length=10)
    primary_cause: str = Field(primary_key=True, max_length=20)
    households: int
    people: int


class VillagePoorPeople(RegistryTable, table=True):
    """Current members of a village's poor and relapsed households (贫困发生率's numerator),
    for villages that have any; kept with `household_stats` (counters.py)."""

    __tablename__ = "village_poor_people"

    village_code: str = Field(primary_key=True, max_length=12)
    poor_people: int


class HouseholdCounter(RegistryTable, table=True):
    """Next household number per village (户编号 = village code + sequence)."""

    __tablename__ = "household_counters"

    region_code: str = Field(primary_key=True, max_length=12)
    last: int = 0


class PovertyLine(RegistryTable, table=True):
    """扶贫标准: per-capita net income line of a year for a region prefix ("" = national)."""

    __tablename__ = "poverty_lines"

    year: int = Field(primary_key=True)
    region_prefix: str = Field(primary_key=True, max_length=12)
    amount_fen: int
    version: int = 1
    updated_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)


class ExitThreshold(RegistryTable, table=True):
    """贫困村出列 poverty-incidence threshold per region prefix, in basis points (200 = 2 %)."""

    __tablename__ = "exit_thresholds"

    region_prefix: str = Field(primary_key=True, max_length=12)
    threshold_bp: int
    version: int = 1
    updated_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)


class Income(RegistryTable, table=True):
    """One household's income of one year (replaced in place; changes are audited)."""

    __tablename__ = "incomes"

    household_id: str = Field(primary_key=True, max_length=36, foreign_key="households.id")
    year: int = Field(primary_key=True)
    wage_fen: int
    business_fen: int
    property_fen: int
    transfer_fen: int
    business_cost_fen: int
    net_income_fen: int
    member_count: int
    per_capita_net_income_fen: int
    version: int = 1
    recorded_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)


class GuaranteeAssessment(RegistryTable, table=True):
    """两不愁三保障 and safe drinking water: every assessment is kept; the latest wins."""

    __tablename__ = "guarantee_assessments"
    __table_args__ = (sa.Index("ix_guarantees_household", "household_id", "assessed_on", "id"),)

    id: str = Field(primary_key=True, max_length=36)
    household_id: str = Field(max_length=36, foreign_key="households.id")
    assessed_on: dt.date
    food: bool
    clothing: bool
    compulsory_education: bool
    basic_medical: bool
    housing_safety: bool
    drinking_water: bool
    recorded_by: str = Field(max_length=200)
    recorded_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)


class StatusChange(RegistryTable, table=True):
    """Status history (脱贫 / 返贫): who changed a household's status, when and why."""

    __tablename__ = "status_changes"
    __table_args__ = (sa.Index("ix_status_changes_household", "household_id", "id"),)

    id: str = Field(primary_key=True, max_length=36)
    household_id: str = Field(max_length=36, foreign_key="households.id")
    from_status: str | None = Field(default=None, max_length=10)
    to_status: str = Field(max_length=10)
    year: int | None = None
    reason: str | None = Field(default=None, max_length=20)
    occurred_on: dt.date | None = None
    actor: str = Field(max_length=200)
    at: dt.datetime = Field(default_factory=_now, sa_type=_TS)
