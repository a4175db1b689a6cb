"""The tasks service's own tables, including its projection of households."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from shared.db import UtcDateTime
from shared.infra import infra_tables


class TasksTable(SQLModel, registry=registry()):
    pass


metadata = TasksTable.metadata
infra = infra_tables(metadata)
_TS = UtcDateTime()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Unit(TasksTable, table=True):
    """单位: a department or office of one region; names are unique within a region."""

    __tablename__ = "units"
    __table_args__ = (sa.UniqueConstraint("region_code", "name", name="uq_units_region_name"),)

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(max_length=100)
    region_code: str = Field(max_length=12, index=True)
    created_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)


class Official(TasksTable, table=True):
    """干部: belongs to a unit; leaders found by the plan import may have no unit yet."""

    __tablename__ = "officials"
    __table_args__ = (sa.Index("ix_officials_region_name", "region_code", "name"),)

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(max_length=50)
    title: str | None = Field(default=None, max_length=50)
    unit_id: str | None = Field(default=None, max_length=36, foreign_key="units.id", index=True)
    region_code: str = Field(max_length=12)
    created_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)


class Plan(TasksTable, table=True):
    """实施方案: a plan document."""

    __tablename__ = "plans"

    id: str = Field(primary_key=True, max_length=36)
    title: str = Field(max_length=200)
    document_no: str | None = Field(default=None, max_length=100)
    issued_on: dt.date
    region_code: str = Field(max_length=12, index=True)
    created_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)


class Task(TasksTable, table=True):
    __tablename__ = "tasks"
    __table_args__ = (
        sa.Index("ix_tasks_region_id", "region_code", "id"),
        sa.Index("ix_tasks_lead_unit", "lead_unit_id", "status"),
        sa.Index("ix_tasks_due_pending", "due_on",
                 postgresql_where=sa.text("overdue_emitted_at IS NULL"),
                 sqlite_where=sa.text("overdue_emitted_at IS NULL")),
    )

    id: str = Field(primary_key=True, max_length=36)
    plan_id: str | None = Field(default=None, max_length=36, foreign_key="plans.id", index=True)
    title: str = Field(max_length=300)
    description: str | None = Field(default=None, sa_type=sa.Text)
    category: str | None = Field(default=None, max_length=50)
    region_code: str = Field(max_length=12)
    lead_unit_id: str = Field(max_length=36, foreign_key="units.id")
    lead_official_id: str | None = Field(default=None, max_length=36, foreign_key="officials.id")
    cooperating_unit_ids: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    due_on: dt.date
    target_metric: str | None = Field(default=None, max_length=100)
    target_unit: str | None = Field(default=None, max_length=20)
    target_value: float | None = None
    progress_value: float | None = None
    status: str = Field(max_length=12)
    evidence: str | None = Field(default=None, sa_type=sa.Text)
    completed_on: dt.date | None = None
    days_late: int | None = None
    verified_on: dt.date | None = None
    source_key: str | None = Field(default=None, max_length=100, unique=True)
    overdue_emitted_at: dt.datetime | None = Field(default=None, sa_type=_TS)
    version: int = 1
    created_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)
    updated_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)


class ProgressReport(TasksTable, table=True):
    __tablename__ = "task_progress"

    id: str = Field(primary_key=True, max_length=36)
    task_id: str = Field(max_length=36, foreign_key="tasks.id", index=True)
    note: str = Field(sa_type=sa.Text)
    value: float | None = None
    reported_on: dt.date
    created_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)


class Rectification(TasksTable, table=True):
    """整改台账: one problem with a named person and a deadline, closed with evidence."""

    __tablename__ = "rectifications"
    __table_args__ = (sa.Index("ix_rectifications_region_id", "region_code", "id"),)

    id: str = Field(primary_key=True, max_length=36)
    title: str = Field(max_length=300)
    source: str = Field(max_length=20)
    region_code: str = Field(max_length=12)
    responsible_unit_id: str = Field(max_length=36, foreign_key="units.id")
    responsible_person: str = Field(max_length=50)
    due_on: dt.date
    status: str = Field(max_length=10)
    evidence: str | None = Field(default=None, sa_type=sa.Text)
    closed_on: dt.date | None = None
    source_key: str | None = Field(default=None, max_length=100, unique=True)
    version: int = 1
    created_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)
    updated_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)


class Pairing(TasksTable, table=True):
    """结对帮扶: one official per household."""

    __tablename__ = "pairings"
    __table_args__ = (sa.Index("ix_pairings_official", "official_id", "household_id"),)

    household_id: str = Field(primary_key=True, max_length=36)
    official_id: str = Field(max_length=36, foreign_key="officials.id")
    region_code: str = Field(max_length=12, index=True)
    version: int = 1
    assigned_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)


class HouseholdView(TasksTable, table=True):
    """Projection of registry and monitoring events: status and whether monitored."""

    __tablename__ = "household_view"
    __table_args__ = (sa.Index("ix_household_view_region", "region_code", "household_id"),)

    household_id: str = Field(primary_key=True, max_length=36)
    region_code: str = Field(max_length=12)
    status: str | None = Field(default=None, max_length=10)
    monitored: bool = False
    updated_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)


class TaskRule(TasksTable, table=True):
    """Time limits per year and region prefix (longest prefix wins)."""

    __tablename__ = "task_rules"

    year: int = Field(primary_key=True)
    region_prefix: str = Field(primary_key=True, max_length=12)
    case_task_due_days: int = 15
    rectification_due_days: int = 30
    updated_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)
