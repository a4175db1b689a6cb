"""Finding households (查询) and counting them (统计), set-based."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from services.registry.db.tables import (
    REGION_PREFIX_INDEXES,
    Household,
    Member,
    Region,
    region_prefix,
)
from services.registry.domain import counters
from services.registry.domain.counters import COUNTY, POOR, STATS
from services.registry.domain.households import (
    HouseholdView,
    MemberView,
    run_with_members,
    with_members,
)
from services.registry.domain.regions import POOR_STATUSES
from shared.idnumber import InvalidIdNumber, parse_id_number
from shared.tx import Tx


@dataclass(frozen=True)
class HouseholdFilter:
    region: str = ""
    status: str | None = None
    cause: str | None = None
    attribute: str | None = None
    q: str | None = None


def _like_prefix(text: str) -> str:
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


VILLAGE_CODE_LENGTH = 12  # the longest region code (shared/regions.py)
_PAGE_STATEMENTS: dict[tuple, sa.Select] = {}


def _page_statement(shape: tuple[str, bool, bool, bool, str, bool]) -> sa.Select:
    """The page statement for one combination of filters, its values as bound parameters:
    built once per combination, since composing it costs more than running it."""
    region, status, attribute, cause, person, after = shape
    query = (sa.select(Household.__table__).order_by(Household.id)
             .limit(sa.bindparam("limit", type_=sa.Integer)))
    if region == "village":
        # A village code is the longest code: its prefix match is equality, which the
        # (region_code, id) index serves in keyset order.
        query = query.where(Household.region_code == sa.bindparam("region"))
    elif region.startswith("level"):
        # A city, county or township: equality on the code's first digits, which the index
        # of that level serves in keyset order.
        digits = int(region.removeprefix("level"))
        query = query.where(region_prefix(Household.region_code, digits)
                            == sa.bindparam("region"))
    elif region == "prefix":
        query = query.where(Household.region_code.like(sa.bindparam("region"), escape="/"))
    if status:
        query = query.where(Household.status == sa.bindparam("status"))
    if attribute:
        query = query.where(Household.attribute == sa.bindparam("attribute"))
    if cause:
        # A JSON list stored as text on both dialects: match the quoted code inside it.
        query = query.where(sa.or_(
            Household.primary_cause == sa.bindparam("cause"),
            sa.cast(Household.secondary_causes, sa.String).like(sa.bindparam("quoted_cause"))))
    if person:
        # A full ID number is looked up through its blind index, anything else as an exact
        # name (both by index; a name prefix would scan every member).
        column = Member.id_hash if person == "id_number" else Member.name
        query = query.where(Household.id.in_(sa.select(Member.household_id).where(
            column == sa.bindparam("person"), Member.removed_on.is_(None))))
    if after:
        query = query.where(Household.id > sa.bindparam("after"))
    return with_members(query.subquery("page"))


async def find_households(tx: Tx, *, where: HouseholdFilter, limit: int, after: str | None
                          ) -> tuple[list[HouseholdView], dict[str, list[MemberView]]]:
    """A page of households (ordered by id) and their members, in one statement (one
    snapshot, one round trip): the page as a subquery, joined with the members."""
    params: dict[str, object] = {"limit": limit + 1}
    region = ""
    if len(where.region) == VILLAGE_CODE_LENGTH:
        region, params["region"] = "village", where.region
    elif len(where.region) in REGION_PREFIX_INDEXES:
        region, params["region"] = f"level{len(where.region)}", where.region
    elif where.region:
        region, params["region"] = "prefix", _like_prefix(where.region)
    for name in ("status", "attribute", "cause"):
        if value := getattr(where, name):
            params[name] = value
    if where.cause:
        params["quoted_cause"] = f'%"{where.cause}"%'
    person = ""
    if where.q:
        try:
            number = parse_id_number(where.q).normalized
        except InvalidIdNumber:
            person, params["person"] = "name", where.q
        else:
            person, params["person"] = "id_number", tx.cipher.blind_index(number)
    if after:
        params["after"] = after
    shape = (region, bool(where.status), bool(where.attribute), bool(where.cause), person,
             bool(after))
    statement = _PAGE_STATEMENTS.get(shape)
    if statement is None:
        statement = _PAGE_STATEMENTS[shape] = _page_statement(shape)
    pairs = await run_with_members(tx, statement, params)
    return [h for h, _ in pairs], {h.id: members for h, members in pairs}


async def stats(tx: Tx, *, region: str) -> dict:
    """Households and people by status, attribute and primary cause; village incidence.

    Sums the maintained counters (counters.py) instead of reading every member of the
    region: per county for a province, city or county, per village below that."""
    if len(region) <= counters.COUNTY_DIGITS:
        table, code = COUNTY, COUNTY.c.county_code
    else:
        table, code = STATS, STATS.c.village_code
    key = (table.c.status, table.c.attribute, table.c.primary_cause)
    query = (sa.select(*key, sa.func.sum(table.c.households), sa.func.sum(table.c.people))
             .group_by(*key).having(sa.func.sum(table.c.households) > 0).order_by(*key))
    if region:
        query = query.where(_starts_with(code, region))
    result = _stats_of(region, (await tx.session.execute(query)).all())
    result["villages"] = await village_incidence(tx, region=region)
    return result


def _starts_with(column: sa.ColumnElement[str], prefix: str) -> sa.ColumnElement[bool]:
    """`column LIKE 'prefix%'`, plus the equivalent digit range (`>= '4301' AND < '4302'`)
    so that a btree index serves it under any collation: PostgreSQL uses an index for LIKE
    only under the "C" collation (not "C.UTF-8"), while digit strings compare alike under
    every collation."""
    like = column.like(_like_prefix(prefix), escape="/")
    if not prefix.isdigit() or not prefix.isascii():
        return like
    bounds = [column >= prefix]
    stem = prefix.rstrip("9")
    if stem:  # the next prefix of the same length or shorter: "4309" -> "431", "43" -> "44"
        bounds.append(column < stem[:-1] + str(int(stem[-1]) + 1))
    return sa.and_(*bounds, like)


async def stats_from_base(tx: Tx, *, region: str) -> dict:
    """`stats` computed from the households and members themselves (the aggregate `stats`
    ran per request before the counters): the oracle the tests compare `stats` against."""
    tally = counters.tally_from_base(
        Household.region_code.like(_like_prefix(region), escape="/")).subquery()
    rows = (await tx.session.execute(
        sa.select(tally.c.status, tally.c.attribute, tally.c.primary_cause,
                  sa.func.sum(tally.c.households), sa.func.sum(tally.c.people))
        .group_by(tally.c.status, tally.c.attribute, tally.c.primary_cause)
        .order_by(tally.c.status, tally.c.attribute, tally.c.primary_cause))).all()
    result = _stats_of(region, rows)
    result["villages"] = await _village_incidence_from_base(tx, region=region)
    return result


def _stats_of(region: str, rows) -> dict:
    result: dict = {"region": region, "households": _tally(), "people": _tally()}
    for status, attribute, cause, households, persons in rows:
        for key, tally in (("households", households), ("people", persons)):
            bucket = result[key]
            tally = int(tally)
            bucket["total"] += tally
            for dim, value in (("by_status", status), ("by_attribute", attribute),
                               ("by_primary_cause", cause)):
                bucket[dim][value] = bucket[dim].get(value, 0) + tally
    return result


def _percent(part: int, whole: int | None) -> str | None:
    """part / whole as a percentage rounded half-up to two decimals ("1.33"); in integers
    for the usual sizes (the province lists thousands of villages), else in Decimal."""
    if not whole:
        return None
    if 0 <= part < 10**12 and 0 < whole < 10**12:
        hundredths = (part * 20_000 + whole) // (2 * whole)
        return f"{hundredths // 100}.{hundredths % 100:02d}"
    return str((Decimal(part * 100) / whole).quantize(Decimal("0.01"), ROUND_HALF_UP))


def _tally() -> dict:
    return {"total": 0, "by_status": {}, "by_attribute": {}, "by_primary_cause": {}}


async def village_incidence(tx: Tx, *, region: str) -> list[dict]:
    """Per village in scope: population, poor people (poor + relapsed), incidence; the poor
    people read from the maintained `village_poor_people` (a village is listed when it is a
    poor village or has at least one current member in a poor or relapsed household)."""
    poor = sa.select(POOR.c.village_code.label("code"), POOR.c.poor_people)
    if region:
        poor = poor.where(_starts_with(POOR.c.village_code, region))
    return await _incidence(tx, region, poor.subquery())


async def _village_incidence_from_base(tx: Tx, *, region: str) -> list[dict]:
    """`village_incidence` from the households and members (oracle for the tests)."""
    poor = (sa.select(Household.region_code.label("code"),
                      sa.func.count(Member.id).label("poor_people"))
            .join(Member, Member.household_id == Household.id)
            .where(Household.status.in_(POOR_STATUSES), Member.removed_on.is_(None),
                   Household.region_code.like(_like_prefix(region), escape="/"))
            .group_by(Household.region_code).subquery())
    return await _incidence(tx, region, poor)


async def _incidence(tx: Tx, region: str, poor: sa.Subquery) -> list[dict]:
    r = _REGIONS  # Core columns: no ORM row processing for thousands of villages
    rows = (await tx.session.execute(
        sa.select(r.c.code, r.c.name, r.c.is_poor_village, r.c.population, r.c.exited_year,
                  sa.func.coalesce(poor.c.poor_people, 0))
        .select_from(r.outerjoin(poor, poor.c.code == r.c.code))
        .where(r.c.level == "village", _starts_with(r.c.code, region) if region else sa.true(),
               sa.or_(r.c.is_poor_village.is_(True), poor.c.poor_people.is_not(None)))
        .order_by(r.c.code))).all()
    percent = _percent
    return [{
        "code": code, "name": name, "is_poor_village": is_poor, "population": population,
        "exited_year": exited, "poor_people": poor_people,
        "incidence_percent": percent(poor_people, population) if population else None,
    } for code, name, is_poor, population, exited, poor_people in rows]


_REGIONS: sa.Table = Region.__table__  # type: ignore[assignment]
