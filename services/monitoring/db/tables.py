"""The monitoring service's own tables, including its projection of registry households."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from shared.db import UtcDateTime
from shared.infra import infra_tables


class MonitoringTable(SQLModel, registry=registry()):
    pass


metadata = MonitoringTable.metadata
infra = infra_tables(metadata)
_TS = UtcDateTime()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class HouseholdView(MonitoringTable, table=True):
    """Projection of a registry household, built only from registry events."""

    __tablename__ = "household_view"
    __table_args__ = (sa.Index("ix_household_view_region", "region_code", "household_id"),)

    household_id: str = Field(primary_key=True, max_length=36)
    region_code: str = Field(max_length=12)
    status: str = Field(max_length=10)
    attribute: str = Field(max_length=10)
    member_count: int
    updated_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)


class MemberView(MonitoringTable, table=True):
    """Members as the registry describes them: blind-indexed, never a plaintext ID number."""

    __tablename__ = "member_view"

    member_id: str = Field(primary_key=True, max_length=36)
    household_id: str = Field(max_length=36, index=True)
    id_hash: str = Field(max_length=64, index=True)
    labor_ability: str = Field(max_length=10)
    active: bool = True
