"""Household import, second stage: set-based existence checks and bulk inserts for one batch
(COPY on PostgreSQL, multi-row INSERT on SQLite). No statement per row."""

from __future__ import annotations

import datetime as dt
import json
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from services.registry.db.tables import Household, HouseholdCounter, Member, Region
from shared.tx import Tx

_HOUSEHOLDS: sa.Table = Household.__table__  # type: ignore[assignment]
_MEMBERS: sa.Table = Member.__table__  # type: ignore[assignment]
_COUNTERS: sa.Table = HouseholdCounter.__table__  # type: ignore[assignment]


@dataclass
class ExistingHousehold:
    created_at: dt.datetime
    head_hash: str | None


@dataclass
class BatchRows:
    households: list[dict[str, Any]] = field(default_factory=list)
    members: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)


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
    tables = ((_HOUSEHOLDS, rows.households), (_MEMBERS, rows.members),
              (tx.infra.outbox, rows.outbox), (tx.infra.audit, rows.audit))
    if tx.dialect == "postgresql":
        raw = await (await tx.session.connection()).get_raw_connection()
        driver = raw.driver_connection
        for table, data in tables:
            if data:
                await driver.copy_records_to_table(table.name, columns=_copy_spec(table)[0],
                                                   records=_records(table, data))
    else:
        for table, data in tables:
            if data:
                await tx.session.execute(table.insert(), data)


_SPECS: dict[str, tuple[list[str], list[tuple[str, Any]], list[int]]] = {}


def _copy_spec(table: sa.Table) -> tuple[list[str], list[tuple[str, Any]], list[int]]:
    """Column names, (name, default) pairs and the positions of JSON columns, once per table.
    Every column but an auto-increment key (the outbox id)."""
    if table.name not in _SPECS:
        columns = [c for c in table.columns
                   if not (c.primary_key and c.autoincrement is True
                           and isinstance(c.type, sa.Integer | sa.BigInteger))]
        _SPECS[table.name] = ([c.name for c in columns], [(c.name, _default(c)) for c in columns],
                              [i for i, c in enumerate(columns) if isinstance(c.type, sa.JSON)])
    return _SPECS[table.name]


def _records(table: sa.Table, rows: list[dict[str, Any]]) -> list[tuple]:
    names, spec, json_positions = _copy_spec(table)
    pick = operator.itemgetter(*names)
    records = []
    for row in rows:
        try:
            values = list(pick(row))
        except KeyError:  # a column the import leaves to its default
            values = [row[name] if name in row else default() for name, default in spec]
        for i in json_positions:
            if values[i] is not None:
                values[i] = _JSON(values[i])
        records.append(tuple(values))
    return records


_JSON = json.JSONEncoder(ensure_ascii=False, default=str).encode


def _default(column: sa.Column) -> Callable[[], Any]:
    """A column's Python-side default, as an INSERT through SQLAlchemy would apply it."""
    default = column.default
    if default is not None and default.is_scalar:
        return lambda: default.arg
    if default is not None and default.is_callable:
        return lambda: default.arg(None)
    return lambda: None


async def raise_counters(tx: Tx, numbers: dict[str, int]) -> None:
    """Keep each village's 户编号 sequence above the imported numbers of its own shape, so
    households registered later through the API do not collide with imported ones."""
    if not numbers:
        return
    module = postgresql if tx.dialect == "postgresql" else sqlite
    stmt = module.insert(_COUNTERS).values(
        [{"region_code": code, "last": last} for code, last in sorted(numbers.items())])
    stmt = stmt.on_conflict_do_update(
        index_elements=["region_code"],
        set_={"last": sa.case((stmt.excluded["last"] > _COUNTERS.c["last"], stmt.excluded["last"]),
                              else_=_COUNTERS.c["last"])})
    await tx.session.execute(stmt)
