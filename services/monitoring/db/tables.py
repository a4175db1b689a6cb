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


# --- projection of registry households (rebuilt by `fupin replay monitoring`) -----------------

class HouseholdView(MonitoringTable, table=True):
    """Projection of a registry household, built only from registry events."""

    __tablename__ = "household_view"
    __table_args__ = (sa.Index("ix_household_view_region", "region_code", "household_id"),)

    household_id: str = Field(primary_key=True, max_length=36)
    region_code: str = Field(max_length=12)
    status: str = Field(max_length=10)
    attribute: str = Field(max_length=10)
    member_count: int
    unmet_guarantees: list[str] | None = Field(default=None, sa_type=sa.JSON)
    guarantees_assessed_on: dt.date | None = None
    updated_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)


class MemberView(MonitoringTable, table=True):
    """Members as the registry describes them: blind-indexed, never a plaintext ID number."""

    __tablename__ = "member_view"

    member_id: str = Field(primary_key=True, max_length=36)
    household_id: str = Field(max_length=36, index=True)
    id_hash: str = Field(max_length=64, index=True)
    labor_ability: str = Field(max_length=10)
    active: bool = True


class IncomeView(MonitoringTable, table=True):
    """The latest recorded income of a household for a year (a later record replaces it)."""

    __tablename__ = "income_view"
    __table_args__ = (sa.Index("ix_income_view_year", "year", "household_id"),)

    household_id: str = Field(primary_key=True, max_length=36)
    year: int = Field(primary_key=True)
    net_income_fen: int = Field(sa_type=sa.BigInteger)
    per_capita_net_income_fen: int = Field(sa_type=sa.BigInteger)
    member_count: int
    recorded_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)


PROJECTION_TABLES = ("household_view", "member_view", "income_view")


# --- rules (data, by year and region prefix) --------------------------------------------------

class MonitoringLine(MonitoringTable, table=True):
    """监测线: per-capita net income line for a year; the longest region prefix wins."""

    __tablename__ = "monitoring_lines"

    year: int = Field(primary_key=True)
    region_code: str = Field(primary_key=True, max_length=12)
    amount_fen: int = Field(sa_type=sa.BigInteger)
    version: int = 1
    updated_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)


class MonitoringRule(MonitoringTable, table=True):
    """Time limit, working days, minimum monitoring period, county approval, notice days."""

    __tablename__ = "monitoring_rules"

    year: int = Field(primary_key=True)
    region_code: str = Field(primary_key=True, max_length=12)
    due_days: int
    working_days: bool
    min_monitoring_months: int
    county_approval_required: bool
    min_notice_days: int
    version: int = 1
    updated_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)


class GuaranteeWatch(MonitoringTable, table=True):
    """What the rules handler last saw unmet per household, so it reacts to a change only."""

    __tablename__ = "guarantee_watch"

    household_id: str = Field(primary_key=True, max_length=36)
    unmet: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    assessed_on: dt.date


# --- signals, alerts, cases -------------------------------------------------------------------

class Signal(MonitoringTable, table=True):
    """A risk lead; unmatched ones keep the caller's region and the ID number's blind index."""

    __tablename__ = "signals"
    __table_args__ = (sa.Index("ix_signals_region", "region_code", "id"),)

    id: str = Field(primary_key=True, max_length=36)
    household_id: str | None = Field(default=None, max_length=36, index=True)
    region_code: str = Field(max_length=12)
    id_hash: str | None = Field(default=None, max_length=64)
    source: str = Field(max_length=20)
    department: str | None = Field(default=None, max_length=30)
    kind: str = Field(max_length=30)
    amount_fen: int | None = Field(default=None, sa_type=sa.BigInteger)
    occurred_on: dt.date
    detail: str | None = Field(default=None, max_length=2000)
    alert_id: str | None = Field(default=None, max_length=36)
    received_by: str = Field(max_length=200)
    received_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)
    matched_at: dt.datetime | None = Field(default=None, sa_type=_TS)


class Alert(MonitoringTable, table=True):
    """预警: at most one open alert per household (partial unique index)."""

    __tablename__ = "alerts"
    __table_args__ = (
        sa.Index("ux_alerts_open_household", "household_id", unique=True,
                 postgresql_where=sa.text("status = 'open'"),
                 sqlite_where=sa.text("status = 'open'")),
        sa.Index("ix_alerts_due", "status", "due_on", "id"),
        sa.Index("ix_alerts_region", "region_code"),
    )

    id: str = Field(primary_key=True, max_length=36)
    household_id: str = Field(max_length=36)
    region_code: str = Field(max_length=12)
    kinds: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    sources: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    raised_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)
    raised_on: dt.date
    due_on: dt.date
    status: str = Field(max_length=10)
    reason: str | None = Field(default=None, max_length=500)
    decided_on: dt.date | None = None
    case_id: str | None = Field(default=None, max_length=36)
    version: int = 1
    updated_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)


class AlertStep(MonitoringTable, table=True):
    """One recorded step of the identification procedure, with who recorded it and when."""

    __tablename__ = "alert_steps"

    id: str = Field(primary_key=True, max_length=36)
    alert_id: str = Field(max_length=36, index=True)
    step: str = Field(max_length=20)
    decided_on: dt.date
    notice_from: dt.date | None = None
    notice_to: dt.date | None = None
    note: str | None = Field(default=None, max_length=2000)
    recorded_by: str = Field(max_length=200)
    recorded_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)


class CaseStep(MonitoringTable, table=True):
    """A step of the risk-elimination procedure (核实, 村级评议, 公示, 审核, 审定) for a case."""

    __tablename__ = "case_steps"

    id: str = Field(primary_key=True, max_length=36)
    case_id: str = Field(max_length=36, index=True)
    step: str = Field(max_length=20)
    decided_on: dt.date
    notice_from: dt.date | None = None
    notice_to: dt.date | None = None
    note: str | None = Field(default=None, max_length=2000)
    recorded_by: str = Field(max_length=200)
    recorded_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)


class Case(MonitoringTable, table=True):
    """A monitored household (监测对象) from an enrolled alert."""

    __tablename__ = "cases"
    __table_args__ = (
        sa.Index("ux_cases_active_household", "household_id", unique=True,
                 postgresql_where=sa.text("status = 'active'"),
                 sqlite_where=sa.text("status = 'active'")),
        sa.Index("ix_cases_region", "region_code", "id"),
    )

    id: str = Field(primary_key=True, max_length=36)
    alert_id: str = Field(max_length=36, unique=True)
    household_id: str = Field(max_length=36)
    region_code: str = Field(max_length=12)
    category: str = Field(max_length=20)
    risk_types: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    enrolled_on: dt.date
    status: str = Field(max_length=12)
    eliminated_on: dt.date | None = None
    version: int = 1
    created_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)
    updated_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)


class CaseRiskType(MonitoringTable, table=True):
    """One row per risk type of a case, so statistics group in SQL on both dialects."""

    __tablename__ = "case_risk_types"

    case_id: str = Field(primary_key=True, max_length=36)
    risk_type: str = Field(primary_key=True, max_length=30)


class Measure(MonitoringTable, table=True):
    """帮扶措施 taken for a case."""

    __tablename__ = "measures"

    id: str = Field(primary_key=True, max_length=36)
    case_id: str = Field(max_length=36, index=True)
    kind: str = Field(max_length=20)
    description: str = Field(max_length=2000)
    started_on: dt.date
    recorded_by: str = Field(max_length=200)
    created_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)
