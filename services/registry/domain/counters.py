"""Maintained statistics counters: what `GET /stats` sums instead of every member row.

Three tables, kept in the transaction of every write that can change a household's village,
status, attribute or primary cause, or its number of current members (registration, member
add/remove, PATCH, exit, relapse, imports): the write calls `refresh` after its rows are
written; an import, which only adds whole new households, adds their tally
(`add_households`).

- `household_stats`: per village and (status, attribute, primary cause), the households and
  their current (not removed) members.
- `county_stats`: the same summed per county (first six digits of the village code), so a
  province (60 counties) sums a few thousand rows instead of 200,000 village rows.
- `village_poor_people`: per village, the current members of its poor and relapsed
  households, for villages that have any (the numerator of the village incidence).

Why a recompute and not +1/-1 increments in every write path: `refresh` computes the
touched villages' `household_stats` rows again from the base tables (households joined to
their current members) and writes those that differ from the stored ones. A village has tens
of households, so this is one indexed read of a few hundred rows, and no write path has to
know the household's state before and after its change: a path that forgot an increment, or
got a sign wrong, would leave the counters wrong for good, while a recompute is right whenever
it runs after the writes (and the next write to a village repairs it). `county_stats` is then
moved by the difference between the villages' old and new rows (an increment, but computed
here from the recomputed rows, in one place), and `village_poor_people` is set from the new
rows.
`rebuild` recomputes all three from scratch (the migration's backfill does the same in SQL;
also for repair and for the benchmark after its COPY fill); `differences` lists every counter
that disagrees with the base tables; `tally_from_base` is the old per-request aggregate, kept
as the oracle the tests compare the counters against.

Concurrency (PostgreSQL, READ COMMITTED): a recompute reads the base tables as of its own
statement, so two transactions writing the same village must not both recompute before
either commits (the later commit would keep rows that miss the other's writes, and the
village's old rows, from which the county difference is taken, must be the committed ones).
`refresh` therefore takes a transaction-scoped advisory lock on the village's bucket (one of
256, by CRC-32 of the code) before it reads: the next writer of that bucket waits until the
lock holder commits, and its recompute then sees the committed rows. `county_stats` rows are
only ever incremented (`households = households + :delta`), which commutes, under row locks
taken in key order. Bucket locks are taken in ascending order, under a shared "all buckets"
lock; `refresh_batch` (an import, which may refresh several times in one transaction) and
`rebuild` take that lock exclusively instead, so they never collect buckets piecemeal. The
locks are taken at the end of a write, right before its commit, so they are held briefly.
A transaction that wrote more rows after a refresh could deadlock with a registration that
waits for its statistics lock while holding a row the transaction then needs (PostgreSQL
aborts one side): so each write refreshes once, last (the strict import refreshes all its
villages once, after its last batch). SQLite runs one writer at a time: no lock is needed.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from services.registry.db.tables import (
    CountyStat,
    Household,
    HouseholdStat,
    Member,
    VillagePoorPeople,
)
from services.registry.domain.regions import POOR_STATUSES
from shared.db import upsert_statement
from shared.tx import Tx

STATS: sa.Table = HouseholdStat.__table__  # type: ignore[assignment]
COUNTY: sa.Table = CountyStat.__table__  # type: ignore[assignment]
POOR: sa.Table = VillagePoorPeople.__table__  # type: ignore[assignment]
_HOUSEHOLDS: sa.Table = Household.__table__  # type: ignore[assignment]
_MEMBERS: sa.Table = Member.__table__  # type: ignore[assignment]
_KEY = ["status", "attribute", "primary_cause"]
_COLUMNS = ["village_code", *_KEY, "households", "people"]
COUNTY_DIGITS = 6

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
    """Bring the counters of `villages` up to date with the base tables, in `tx`; call it
    after the transaction's writes to those villages (pending ORM changes are flushed)."""
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


async def add_households(tx: Tx, tally: dict[tuple[str, str, str, str], list[int]]) -> None:
    """An import's new households, tallied as (village, status, attribute, primary cause) ->
    [households, people]: the counters are increased by the tally. An import only adds
    households that did not exist, with all their members, so their contribution is known
    without reading anything back - unlike `refresh_batch`, whose recompute reads every
    household of the touched villages, which a large file spread over every village would
    pay batch after batch. Takes the all-buckets lock (PostgreSQL), as `refresh_batch` does:
    a concurrent `refresh` of one of those villages must not write absolute values computed
    without this transaction's households."""
    if not tally:
        return
    if tx.dialect == "postgresql":
        await _lock(tx, all_buckets=True, codes=[])
    rows = sorted(tally.items())
    await _upsert(tx, STATS, ["village_code", *_KEY], [
        {"village_code": k[0], "status": k[1], "attribute": k[2], "primary_cause": k[3],
         "households": h, "people": p} for k, (h, p) in rows], add=True)
    await _move_counties(tx, {}, {k: (h, p) for k, (h, p) in rows})
    poor: dict[str, int] = defaultdict(int)
    for (village, status, _, _), (_, people) in rows:
        if status in POOR_STATUSES and people:
            poor[village] += people
    await _upsert(tx, POOR, ["village_code"], [
        {"village_code": v, "poor_people": n} for v, n in sorted(poor.items())], add=True)


async def rebuild(tx: Tx) -> int:
    """Recompute every counter from the base tables (repair; the benchmark after its COPY
    fill). Returns the number of `household_stats` rows written."""
    await tx.session.flush()
    if tx.dialect == "postgresql":
        await _lock(tx, all_buckets=True, codes=[])
    for table in (STATS, COUNTY, POOR):
        await tx.session.execute(table.delete())
    await tx.session.execute(STATS.insert().from_select(_COLUMNS, tally_from_base()))
    county = sa.func.substr(STATS.c.village_code, 1, COUNTY_DIGITS)
    await tx.session.execute(COUNTY.insert().from_select(
        ["county_code", *_KEY, "households", "people"],
        sa.select(county, *[STATS.c[k] for k in _KEY], sa.func.sum(STATS.c.households),
                  sa.func.sum(STATS.c.people))
        .group_by(county, *[STATS.c[k] for k in _KEY])))
    await tx.session.execute(POOR.insert().from_select(
        ["village_code", "poor_people"],
        sa.select(STATS.c.village_code, sa.func.sum(STATS.c.people))
        .where(STATS.c.status.in_(POOR_STATUSES)).group_by(STATS.c.village_code)
        .having(sa.func.sum(STATS.c.people) > 0)))
    return int(await tx.session.scalar(sa.select(sa.func.count()).select_from(STATS)) or 0)


async def differences(tx: Tx) -> list[tuple]:
    """Every counter that disagrees with the base tables, as (table, key, stored, expected);
    empty when all are right. For tests, and to check a deployment before a `rebuild`.
    A `county_stats` row at zero is the same as no row."""
    base = [(r[0], *r[1:4], int(r[4]), int(r[5]))
            for r in (await tx.session.execute(tally_from_base())).all()]
    expected: dict[str, dict[tuple, tuple]] = {"household_stats": {}, "county_stats": {},
                                                "village_poor_people": {}}
    county: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    poor: dict[tuple, int] = defaultdict(int)
    for village, status, attribute, cause, households, people in base:
        expected["household_stats"][(village, status, attribute, cause)] = (households, people)
        total = county[(village[:COUNTY_DIGITS], status, attribute, cause)]
        total[0] += households
        total[1] += people
        if status in POOR_STATUSES and people:
            poor[(village,)] += people
    expected["county_stats"] = {k: tuple(v) for k, v in county.items()}
    expected["village_poor_people"] = {k: (v,) for k, v in poor.items()}
    stored = {
        "household_stats": {tuple(r[:4]): tuple(r[4:]) for r in (await tx.session.execute(
            sa.select(*[STATS.c[c] for c in _COLUMNS]))).all()},
        "county_stats": {tuple(r[:4]): tuple(r[4:]) for r in (await tx.session.execute(
            sa.select(COUNTY.c.county_code, *[COUNTY.c[k] for k in _KEY], COUNTY.c.households,
                      COUNTY.c.people))).all() if tuple(r[4:]) != (0, 0)},
        "village_poor_people": {(r[0],): (r[1],) for r in (await tx.session.execute(
            sa.select(POOR.c.village_code, POOR.c.poor_people))).all()},
    }
    found = []
    for table, rows in expected.items():
        kept = stored[table]
        found += sorted((table, key, kept.get(key), rows.get(key))
                        for key in kept.keys() | rows.keys() if kept.get(key) != rows.get(key))
    return found


async def _lock(tx: Tx, *, all_buckets: bool, codes: list[str]) -> None:
    if all_buckets:
        await tx.session.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_CLASS,
                                                                         _ALL_BUCKETS)))
        return
    buckets = sorted({bucket_of(c) for c in codes})
    if len(buckets) == 1:  # one round trip; the target list is evaluated left to right
        await tx.session.execute(sa.select(
            sa.func.pg_advisory_xact_lock_shared(_LOCK_CLASS, _ALL_BUCKETS),
            sa.func.pg_advisory_xact_lock(_LOCK_CLASS, buckets[0])))
        return
    await tx.session.execute(sa.select(sa.func.pg_advisory_xact_lock_shared(_LOCK_CLASS,
                                                                            _ALL_BUCKETS)))
    # One statement, in ascending order (a function scan keeps the array's order).
    await tx.session.execute(sa.text(
        "SELECT pg_advisory_xact_lock(:cls, b) FROM unnest(CAST(:buckets AS integer[])) "
        "AS t(b)").bindparams(cls=_LOCK_CLASS, buckets=buckets))


async def _recompute(tx: Tx, codes: list[str]) -> None:
    """Bring the villages' `household_stats` and `village_poor_people` rows to what the base
    tables give now, and move `county_stats` by the difference (the caller holds the
    villages' locks). One read (stored rows and the recomputed tally together), then only
    the rows that differ are written: a registration typically changes one row per table."""
    tally = tally_from_base(_one_of(tx, _HOUSEHOLDS.c.region_code, codes)).subquery()
    empty = sa.literal("")
    read = sa.union_all(
        sa.select(sa.literal(0).label("part"), *[STATS.c[c] for c in _COLUMNS])
        .where(_one_of(tx, STATS.c.village_code, codes)),
        sa.select(sa.literal(1), *tally.c),
        sa.select(sa.literal(2), POOR.c.village_code, empty, empty, empty, sa.literal(0),
                  POOR.c.poor_people).where(_one_of(tx, POOR.c.village_code, codes)))
    old: dict[tuple, tuple[int, int]] = {}
    new: dict[tuple, tuple[int, int]] = {}
    stored_poor: dict[str, int] = {}
    for part, village, status, attribute, cause, households, people in (
            await tx.session.execute(read)).all():
        if part == 2:
            stored_poor[village] = int(people)
        else:
            (new if part else old)[(village, status, attribute, cause)] = (int(households),
                                                                           int(people))
    stale = [key for key in old if key not in new]
    if stale:
        await tx.session.execute(STATS.delete().where(
            sa.tuple_(STATS.c.village_code, *[STATS.c[k] for k in _KEY]).in_(stale)))
    await _upsert(tx, STATS, ["village_code", *_KEY], [
        {**dict(zip(["village_code", *_KEY], key, strict=True)), "households": h, "people": p}
        for key, (h, p) in sorted(new.items()) if old.get(key) != (h, p)], add=False)
    await _move_counties(tx, old, new)
    poor: dict[str, int] = dict.fromkeys(codes, 0)
    for (village, status, _, _), (_, people) in new.items():
        if status in POOR_STATUSES:
            poor[village] += people
    gone = [v for v, n in poor.items() if n == 0 and v in stored_poor]
    if gone:
        await tx.session.execute(POOR.delete().where(_one_of(tx, POOR.c.village_code, gone)))
    await _upsert(tx, POOR, ["village_code"], [
        {"village_code": v, "poor_people": n} for v, n in sorted(poor.items())
        if n > 0 and stored_poor.get(v) != n], add=False)


async def _move_counties(tx: Tx, old: dict[tuple, tuple[int, int]],
                         new: dict[tuple, tuple[int, int]]) -> None:
    """county_stats += (new rows - old rows), in key order (row locks taken in the same
    order by every writer)."""
    delta: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for sign, rows in ((-1, old), (1, new)):
        for (village, status, attribute, cause), (households, people) in rows.items():
            d = delta[(village[:COUNTY_DIGITS], status, attribute, cause)]
            d[0] += sign * households
            d[1] += sign * people
    await _upsert(tx, COUNTY, ["county_code", *_KEY], [
        {"county_code": k[0], "status": k[1], "attribute": k[2], "primary_cause": k[3],
         "households": h, "people": p} for k, (h, p) in sorted(delta.items()) if h or p],
        add=True)


async def _upsert(tx: Tx, table: sa.Table, keys: list[str], rows: list[dict], *,
                  add: bool) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE: the other columns set to the new values, or
    increased by them (`add`)."""
    if rows:
        values = tuple(c.name for c in table.columns if c.name not in keys)
        await tx.session.execute(upsert_statement(
            tx.dialect, table, tuple(keys), () if add else values, values if add else ()), rows)


def _one_of(tx: Tx, column: sa.Column, values: list[str]) -> sa.ColumnElement[bool]:
    """`column = ANY(:array)` on PostgreSQL (one parameter however many villages a batch
    touches); a plain IN list on SQLite."""
    if tx.dialect == "postgresql":
        return column == sa.any_(sa.bindparam(None, values, type_=postgresql.ARRAY(sa.String)))
    return column.in_(values)
