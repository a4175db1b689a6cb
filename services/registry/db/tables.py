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


class Household(RegistryTable, table=True):
    __tablename__ = "households"
    __table_args__ = (sa.Index("ix_households_region_id", "region_code", "id"),)

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
        sa.Index("ux_members_active_person", "id_hash", unique=True,
                 postgresql_where=sa.text("removed_on IS NULL"),
                 sqlite_where=sa.text("removed_on IS NULL")),
        sa.Index("ix_members_household", "household_id"),
        sa.Index("ix_members_id_hash", "id_hash"),
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


class HouseholdCounter(RegistryTable, table=True):
    """Next household number per village (户编号 = village code + sequence)."""

    __tablename__ = "household_counters"

    region_code: str = Field(primary_key=True, max_length=12)
    last: int = 0
