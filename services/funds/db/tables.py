"""The funds service's own tables: sources, the project library, the append-only ledger
(allocations, disbursements, reversals), rules, alerts and the registry projection."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from shared.db import UtcDateTime
from shared.infra import infra_tables


class FundsTable(SQLModel, registry=registry()):
    pass


metadata = FundsTable.metadata
infra = infra_tables(metadata)
_TS = UtcDateTime()
_FEN = sa.BigInteger()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Source(FundsTable, table=True):
    """资金来源 / a fund received under a document (指标文件)."""

    __tablename__ = "sources"
    __table_args__ = (sa.Index("ix_sources_region_year", "region_code", "fiscal_year"),)

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(max_length=200)
    level: str = Field(max_length=12)
    kind: str = Field(max_length=20)
    fiscal_year: int
    document_no: str = Field(max_length=100)
    nature: str | None = Field(default=None, max_length=100)
    expenditure_class: str | None = Field(default=None, max_length=200)
    region_code: str = Field(max_length=12)
    amount_fen: int = Field(sa_type=_FEN)
    permitted_categories: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    created_by: str = Field(max_length=200)
    created_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)


class Project(FundsTable, table=True):
    """项目库 / a project in the library, with its approval steps."""

    __tablename__ = "projects"
    __table_args__ = (sa.Index("ix_projects_region_year", "region_code", "fiscal_year"),)

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(max_length=200)
    region_code: str = Field(max_length=12)
    category: str = Field(max_length=20)
    fiscal_year: int
    budget_fen: int = Field(sa_type=_FEN)
    planned_start: dt.date
    planned_end: dt.date
    content: str | None = Field(default=None, max_length=2000)
    implementing_unit: str | None = Field(default=None, max_length=200)
    targets: str | None = Field(default=None, max_length=1000)
    status: str = Field(max_length=12)
    proposed_by: str = Field(max_length=200)
    proposed_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)
    reviewed_by: str | None = Field(default=None, max_length=200)
    reviewed_at: dt.datetime | None = Field(default=None, sa_type=_TS)
    approved_by: str | None = Field(default=None, max_length=200)
    approved_at: dt.datetime | None = Field(default=None, sa_type=_TS)
    rolled_over_from: int | None = None
    version: int = 1


class Beneficiary(FundsTable, table=True):
    __tablename__ = "project_beneficiaries"

    project_id: str = Field(primary_key=True, max_length=36, foreign_key="projects.id")
    household_id: str = Field(primary_key=True, max_length=36, index=True)


class Allocation(FundsTable, table=True):
    """分配 / ledger entry: money moved from a source to a project. Never updated."""

    __tablename__ = "allocations"
    __table_args__ = (
        sa.Index("ix_allocations_source", "source_id", "amount_fen"),
        sa.Index("ix_allocations_project", "project_id"),
    )

    id: str = Field(primary_key=True, max_length=36)
    source_id: str = Field(max_length=36, foreign_key="sources.id")
    project_id: str = Field(max_length=36, foreign_key="projects.id")
    region_code: str = Field(max_length=12)
    amount_fen: int = Field(sa_type=_FEN)
    document_no: str = Field(max_length=100)
    allocated_on: dt.date
    created_by: str = Field(max_length=200)
    created_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)


class Disbursement(FundsTable, table=True):
    """支付 / ledger entry: money paid out of an allocation. Never updated."""

    __tablename__ = "disbursements"
    __table_args__ = (
        sa.Index("ix_disbursements_allocation", "allocation_id", "amount_fen"),
        sa.Index("ix_disbursements_household", "household_id"),
    )

    id: str = Field(primary_key=True, max_length=36)
    allocation_id: str = Field(max_length=36, foreign_key="allocations.id")
    project_id: str = Field(max_length=36)
    region_code: str = Field(max_length=12)
    amount_fen: int = Field(sa_type=_FEN)
    payee: str = Field(max_length=200)
    paid_on: dt.date
    voucher_no: str = Field(max_length=100)
    household_id: str | None = Field(default=None, max_length=36)
    created_by: str = Field(max_length=200)
    created_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)


class Reversal(FundsTable, table=True):
    """冲正 / ledger entry that undoes one disbursement; at most one per disbursement."""

    __tablename__ = "reversals"
    __table_args__ = (sa.Index("ix_reversals_allocation", "allocation_id", "amount_fen"),)

    id: str = Field(primary_key=True, max_length=36)
    disbursement_id: str = Field(max_length=36, foreign_key="disbursements.id", unique=True)
    allocation_id: str = Field(max_length=36)
    amount_fen: int = Field(sa_type=_FEN)
    reason: str = Field(max_length=500)
    created_by: str = Field(max_length=200)
    created_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)


class AllocationBalance(FundsTable, table=True):
    """Maintained counter per allocation (net disbursed), updated in the same transaction
    as each disbursement or reversal under the allocation's row lock; read by statistics
    and alerts so they need not scan the ledger. Not a ledger row."""

    __tablename__ = "allocation_balances"

    allocation_id: str = Field(primary_key=True, max_length=36)
    disbursed_fen: int = Field(default=0, sa_type=_FEN)
    entries: int = Field(default=0, sa_type=_FEN)


class FundRule(FundsTable, table=True):
    """Rules per fiscal year and region prefix (longest prefix wins)."""

    __tablename__ = "fund_rules"

    fiscal_year: int = Field(primary_key=True)
    region_code: str = Field(primary_key=True, max_length=12)
    stagnant_days: int | None = None
    require_township_review: bool | None = None
    min_shares: dict = Field(default_factory=dict, sa_type=sa.JSON)
    share_kinds: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    version: int = 1
    updated_by: str = Field(max_length=200)
    updated_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)


class Alert(FundsTable, table=True):
    """A raised alert; (kind, subject) is unique so recomputation never raises it twice."""

    __tablename__ = "alerts"
    __table_args__ = (sa.UniqueConstraint("kind", "subject", name="ux_alerts_kind_subject"),
                      sa.Index("ix_alerts_region", "region_code"))

    id: str = Field(primary_key=True, max_length=36)
    kind: str = Field(max_length=20)
    subject: str = Field(max_length=100)
    region_code: str = Field(max_length=12)
    project_id: str | None = Field(default=None, max_length=36)
    allocation_id: str | None = Field(default=None, max_length=36)
    disbursement_id: str | None = Field(default=None, max_length=36)
    amount_fen: int | None = Field(default=None, sa_type=_FEN)
    detail: dict = Field(default_factory=dict, sa_type=sa.JSON)
    raised_on: dt.date
    raised_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)


class HouseholdView(FundsTable, table=True):
    """Projection of registry households, built only from registry events."""

    __tablename__ = "household_view"
    __table_args__ = (sa.Index("ix_funds_household_view_region", "region_code"),)

    household_id: str = Field(primary_key=True, max_length=36)
    region_code: str = Field(max_length=12)
    member_count: int = 0
    in_registry: bool = True
    updated_at: dt.datetime = Field(default_factory=_now, sa_type=_TS)
