"""Maintained statistics counters (`household_stats`): what `GET /stats` sums.

One row per (village, status, attribute, primary cause) holding the number of households and
of their current (not removed) members. Every write that can change a household's village,
status, attribute or primary cause, or its number of current members, calls `refresh` (or,
for a bulk import batch, `refresh_batch`) in its own transaction, after its rows are written.

Why a recompute and not +1/-1 increments: `refresh` deletes the counter rows of the touched
villages and inserts them again from the base tables (households joined to their current
members). A village has tens of households, so this costs one indexed read of a few hundred
rows, and it does not depend on each write path knowing the household's state before and
after the change: a path that forgets an increment, or gets its sign wrong, would leave the
counters wrong forever, while a recompute is right whenever it runs after the writes (and
the next write to a village repairs it). `rebuild` recomputes everything (used by the
migration's backfill, by `fupin` repair and by the benchmark); `tally_from_base` is the old
per-request aggregate, kept as the oracle that tests compare the counters against.

Concurrency (PostgreSQL, READ COMMITTED): a recompute reads the base tables as of its own
statement, so two transactions writing the same village must not both recompute before
either commits (the later commit would keep counters that miss the other's rows).
`refresh` therefore takes a transaction-scoped advisory lock on the village's bucket (one of
256, by CRC-32 of the code) before it reads: the next writer of that bucket waits until the
lock holder commits, and its recompute then sees the committed rows. Bucket locks are taken
in ascending order, under a shared "all buckets" lock; `refresh_batch` (the import, which may
refresh several times in one transaction) takes that lock exclusively instead, so it never
waits for buckets piecemeal while holding others. Locks are taken at the end of a write,
right before its commit, so they are held briefly. SQLite runs one writer at a time, so no
lock is needed there.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from services.registry.db.tables import Household, HouseholdStat, Member
from shared.tx import Tx

STATS: sa.Table = HouseholdStat.__table__  # type: ignore[assignment]
_HOUSEHOLDS: sa.Table = Household.__table__  # type: ignore[assignment]
_MEMBERS: sa.Table = Member.__table__  # type: ignore[assignment]
_COLUMNS = ["village_code", "status", "attribute", "primary_cause", "households", "people"]

BUCKETS = 256
# Advisory locks with two int4 keys live in their own key space (the outbox relay uses the
# single bigint form); this class id names the registry statistics.
_LOCK_CLASS = zlib.crc32(b"fupin-registry-household-stats") - 2**31
_ALL_BUCKETS = -1


def bucket_of(village_code: str) -> int:
    return zlib.crc32(village_code.encode()) % BUCKETS


def tally_from_base(where: sa.ColumnElement[bool] | None = None) -> sa.Select:
    """(village, status, attribute, primary cause, households, people) computed from the base
    tables for the households matching `where` (all when None). People are counted per
    household first: a COUNT(DISTINCT) over the join costs about twice as much."""
    h, m = _HOUSEHOLDS, _MEMBERS
    sizes = sa.select(m.c.household_id, sa.func.count().label("n")).where(m.c.removed_on.is_(None))
    if where is not None:
        sizes = sizes.where(m.c.household_id.in_(sa.select(h.c.id).where(where)))
    sizes = sizes.group_by(m.c.household_id).subquery()
    query = (sa.select(h.c.region_code, h.c.status, h.c.attribute, h.c.primary_cause,
                       sa.func.count().label("households"),
                       sa.func.coalesce(sa.func.sum(sizes.c.n), 0).label("people"))
             .select_from(h.outerjoin(sizes, sizes.c.household_id == h.c.id))
             .group_by(h.c.region_code, h.c.status, h.c.attribute, h.c.primary_cause))
    return query if where is None else query.where(where)


async def refresh(tx: Tx, villages: Iterable[str]) -> None:
    """Recompute the counter rows of `villages` from the base tables, in `tx`; call it after
    the transaction's writes to those villages (pending ORM changes are flushed first)."""
    codes = sorted(set(villages))
    if not codes:
        return
    await tx.session.flush()
    if tx.dialect == "postgresql":
        await _lock(tx, all_buckets=False, codes=codes)
    await _recompute(tx, codes)


async def refresh_batch(tx: Tx, villages: Iterable[str]) -> None:
    """`refresh` for a bulk import batch: many villages, possibly several batches in one
    transaction (strict mode), so it locks every bucket at once (see the module docstring)."""
    codes = sorted(set(villages))
    if not codes:
        return
    await tx.session.flush()
    if tx.dialect == "postgresql":
        await _lock(tx, all_buckets=True, codes=codes)
    await _recompute(tx, codes)


async def rebuild(tx: Tx) -> int:
    """Recompute every counter row from the base tables (repair; the benchmark after its COPY
    fill). Returns the number of counter rows written."""
    await tx.session.flush()
    if tx.dialect == "postgresql":
        await tx.session.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_CLASS,
                                                                         _ALL_BUCKETS)))
    await tx.session.execute(STATS.delete())
    await tx.session.execute(STATS.insert().from_select(_COLUMNS, tally_from_base()))
    return int(await tx.session.scalar(sa.select(sa.func.count()).select_from(STATS)) or 0)


async def differences(tx: Tx) -> list[tuple]:
    """Counter rows that disagree with the base tables, as (key, counters, base); empty when
    the counters are right. For tests and for checking a deployment before a `rebuild`."""
    stored = {tuple(r[:4]): tuple(r[4:]) for r in (await tx.session.execute(
        sa.select(*[STATS.c[c] for c in _COLUMNS]))).all()}
    base = {tuple(r[:4]): (int(r[4]), int(r[5])) for r in (await tx.session.execute(
        tally_from_base())).all()}
    return sorted((key, stored.get(key), base.get(key))
                  for key in stored.keys() | base.keys() if stored.get(key) != base.get(key))


async def _lock(tx: Tx, *, all_buckets: bool, codes: list[str]) -> None:
    if all_buckets:
        await tx.session.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_CLASS,
                                                                         _ALL_BUCKETS)))
        return
    await tx.session.execute(sa.select(sa.func.pg_advisory_xact_lock_shared(_LOCK_CLASS,
                                                                            _ALL_BUCKETS)))
    buckets = sorted({bucket_of(c) for c in codes})
    if len(buckets) == 1:
        await tx.session.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_CLASS,
                                                                         buckets[0])))
    else:  # one statement, in ascending order (a function scan keeps the array's order)
        await tx.session.execute(sa.text(
            "SELECT pg_advisory_xact_lock(:cls, b) FROM unnest(CAST(:buckets AS integer[])) "
            "AS t(b)").bindparams(cls=_LOCK_CLASS, buckets=buckets))


async def _recompute(tx: Tx, codes: list[str]) -> None:
    await tx.session.execute(STATS.delete().where(_one_of(tx, STATS.c.village_code, codes)))
    await tx.session.execute(STATS.insert().from_select(
        _COLUMNS, tally_from_base(_one_of(tx, _HOUSEHOLDS.c.region_code, codes))))


def _one_of(tx: Tx, column: sa.Column, values: list[str]) -> sa.ColumnElement[bool]:
    """`column = ANY(:array)` on PostgreSQL (one parameter however many villages a batch
    touches); a plain IN list on SQLite."""
    if tx.dialect == "postgresql":
        return column == sa.any_(sa.bindparam(None, values, type_=postgresql.ARRAY(sa.String)))
    return column.in_(values)
