"""Household import, second stage: set-based existence checks and bulk inserts for one batch
(COPY on PostgreSQL, multi-row INSERT on SQLite). No statement per row."""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from services.registry.db.tables import Household, HouseholdCounter, Member, Region
from shared.db import compiled_once, fixed_insert
from shared.tx import Tx

_HOUSEHOLDS: sa.Table = Household.__table__  # type: ignore[assignment]
_MEMBERS: sa.Table = Member.__table__  # type: ignore[assignment]
_COUNTERS: sa.Table = HouseholdCounter.__table__  # type: ignore[assignment]


@dataclass
class ExistingHousehold:
    created_at: dt.datetime
    head_hash: str | None


# The COPY records' column order: every column but an auto-increment key (the outbox id), in
# table order (checked against the tables below, so a schema change cannot go unnoticed).
HOUSEHOLD_COLUMNS = ("id", "household_no", "region_code", "status", "attribute",
                     "identified_year", "primary_cause", "secondary_causes", "version",
                     "created_at", "updated_at")
MEMBER_COLUMNS = ("id", "household_id", "name", "id_cipher", "id_hash", "relation",
                  "labor_ability", "health", "schooling", "sex", "birth_date", "removed_on",
                  "removed_reason", "created_at")
OUTBOX_COLUMNS = ("event_id", "topic", "key", "type", "payload", "created_at", "published_at")
AUDIT_COLUMNS = ("id", "at", "actor", "action", "resource_type", "resource_id", "region_code",
                 "before", "after", "request_id")


@dataclass
class BatchRows:
    """A batch's records, tuples in the column orders above; JSON columns hold JSON text."""

    households: list[tuple] = field(default_factory=list)
    members: list[tuple] = field(default_factory=list)
    outbox: list[tuple] = field(default_factory=list)
    audit: list[tuple] = field(default_factory=list)


async def region_levels(tx: Tx, codes: Iterable[str]) -> dict[str, str]:
    """code -> level for the codes that exist (one query)."""
    wanted = list(codes)
    if not wanted:
        return {}
    result = await tx.session.execute(
        sa.select(Region.code, Region.level).where(Region.code.in_(wanted)))
    return {code: level for code, level in result.all()}


async def registered_hashes(tx: Tx, hashes: list[str]) -> set[str]:
    """The blind indexes among `hashes` of people already in a household."""
    if not hashes:
        return set()
    result = await tx.session.execute(
        sa.select(_MEMBERS.c.id_hash).where(_one_of(tx, _MEMBERS.c.id_hash, hashes),
                                            _MEMBERS.c.removed_on.is_(None)))
    return set(result.scalars().all())


async def existing_households(tx: Tx, numbers: list[str]) -> dict[str, ExistingHousehold]:
    """户编号 already used, with when and by whom (the head's blind index)."""
    if not numbers:
        return {}
    h, m = _HOUSEHOLDS, _MEMBERS
    result = await tx.session.execute(
        sa.select(h.c.household_no, h.c.created_at, m.c.id_hash)
        .select_from(h.outerjoin(m, sa.and_(m.c.household_id == h.c.id, m.c.relation == "head",
                                            m.c.removed_on.is_(None))))
        .where(_one_of(tx, h.c.household_no, numbers)))
    found: dict[str, ExistingHousehold] = {}
    for number, created_at, head_hash in result.all():
        if created_at is not None and created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=dt.UTC)
        found[number] = ExistingHousehold(created_at, head_hash)
    return found


def _one_of(tx: Tx, column: sa.Column, values: list[str]) -> sa.ColumnElement[bool]:
    """`column = ANY(:array)` on PostgreSQL: one parameter instead of thousands to bind and
    plan; a plain IN list on SQLite."""
    if tx.dialect == "postgresql":
        return column == sa.any_(sa.bindparam(None, values, type_=postgresql.ARRAY(sa.String)))
    return column.in_(values)


async def insert_batch(tx: Tx, rows: BatchRows) -> None:
    """Write a batch's households, members, outbox events and audit entries."""
    tables = ((_HOUSEHOLDS, HOUSEHOLD_COLUMNS, rows.households),
              (_MEMBERS, MEMBER_COLUMNS, rows.members),
              (tx.infra.outbox, OUTBOX_COLUMNS, rows.outbox),
              (tx.infra.audit, AUDIT_COLUMNS, rows.audit))
    for table, columns, _ in tables:
        copy_columns(table, columns)
    if tx.dialect == "postgresql":
        raw = await (await tx.session.connection()).get_raw_connection()
        driver = raw.driver_connection
        for table, columns, records in tables:
            if records:
                await driver.copy_records_to_table(table.name, columns=columns,
                                                   records=records)
    else:
        for table, columns, records in tables:
            if records:
                await tx.session.execute(table.insert(), _as_dicts(table, columns, records))


_CHECKED: set[tuple[str, tuple[str, ...]]] = set()


def copy_columns(table: sa.Table, columns: tuple[str, ...]) -> tuple[str, ...]:
    """`columns`, once checked to be the table's columns but an auto-increment key, in order:
    the import writes every column itself (no column is left to a default)."""
    if (table.name, columns) not in _CHECKED:
        actual = tuple(c.name for c in table.columns
                       if not (c.primary_key and c.autoincrement is True
                               and isinstance(c.type, sa.Integer | sa.BigInteger)))
        if actual != columns:
            raise RuntimeError(f"the import's records for {table.name} have the columns "
                               f"{columns}, the table {actual}")
        _CHECKED.add((table.name, columns))
    return columns


def _as_dicts(table: sa.Table, columns: tuple[str, ...],
              records: list[tuple]) -> list[dict[str, Any]]:
    """Records as the parameter dicts of an INSERT (SQLite), JSON texts decoded again for the
    JSON columns' own encoding."""
    json_columns = [c for c in columns if isinstance(table.c[c].type, sa.JSON)]
    rows = [dict(zip(columns, record, strict=True)) for record in records]
    for row in rows:
        for name in json_columns:
            if row[name] is not None:
                row[name] = json.loads(row[name])
    return rows


# A JSON column's value as the import stores it (PostgreSQL's COPY takes the text).
json_text = json.JSONEncoder(ensure_ascii=False, default=str).encode


async def raise_counters(tx: Tx, numbers: dict[str, int]) -> None:
    """Keep each village's 户编号 sequence above the imported numbers of its own shape, so
    households registered later through the API do not collide with imported ones."""
    if not numbers:
        return
    await tx.session.execute(_raise_statement(tx.dialect),
                             [{"region_code": code, "last": last}
                              for code, last in sorted(numbers.items())])


@functools.cache
def _raise_statement(dialect: str) -> Any:
    """The upsert raising `last` to the given value when it is higher, built and compiled
    once per dialect (`shared.db.compiled_once`; a multi-row VALUES statement was compiled
    anew for every batch)."""
    stmt = fixed_insert(dialect, _COUNTERS)
    new, last = stmt.excluded["last"], _COUNTERS.c["last"]
    return compiled_once(stmt.on_conflict_do_update(
        index_elements=["region_code"], set_={"last": sa.case((new > last, new), else_=last)})
        .returning(_COUNTERS.c["region_code"]))
