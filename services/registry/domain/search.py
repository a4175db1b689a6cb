"""Finding households (查询) and counting them (统计), set-based."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from services.registry.db.tables import Household, Member, Region
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


def _person_match(tx: Tx, q: str) -> sa.ColumnElement[bool]:
    """A full ID number is looked up through its blind index, anything else as an exact name
    (both by index; a name prefix would scan every member)."""
    try:
        number = parse_id_number(q).normalized
    except InvalidIdNumber:
        condition = Member.name == q
    else:
        condition = Member.id_hash == tx.cipher.blind_index(number)
    return Household.id.in_(sa.select(Member.household_id).where(
        condition, Member.removed_on.is_(None)))


async def find_households(tx: Tx, *, where: HouseholdFilter, limit: int,
                          after: str | None) -> tuple[list[Household], dict[str, list[Member]]]:
    """A page of households (ordered by id) and their members, in two queries."""
    query = sa.select(Household).order_by(Household.id).limit(limit + 1)
    if where.region:
        query = query.where(Household.region_code.like(_like_prefix(where.region), escape="/"))
    if where.status:
        query = query.where(Household.status == where.status)
    if where.attribute:
        query = query.where(Household.attribute == where.attribute)
    if where.cause:
        # A JSON list stored as text on both dialects: match the quoted code inside it.
        query = query.where(sa.or_(
            Household.primary_cause == where.cause,
            sa.cast(Household.secondary_causes, sa.String).like(f'%"{where.cause}"%')))
    if where.q:
        query = query.where(_person_match(tx, where.q))
    if after:
        query = query.where(Household.id > after)
    found = list((await tx.session.execute(query)).scalars().all())
    members: dict[str, list[Member]] = defaultdict(list)
    if found:
        rows = (await tx.session.execute(
            sa.select(Member).where(Member.household_id.in_([h.id for h in found[:limit]]))
            .order_by(Member.created_at, Member.id))).scalars().all()
        for m in rows:
            members[m.household_id].append(m)
    return found, members


async def stats(tx: Tx, *, region: str) -> dict:
    """Households and people by status, attribute and primary cause; village incidence."""
    # People are counted per household first: a COUNT(DISTINCT) over the join costs ~2x.
    in_scope = Household.region_code.like(_like_prefix(region), escape="/")
    sizes = sa.select(Member.household_id, sa.func.count().label("n")).where(
        Member.removed_on.is_(None))
    if region:
        sizes = sizes.where(Member.household_id.in_(sa.select(Household.id).where(in_scope)))
    sizes = sizes.group_by(Member.household_id).subquery()
    rows = (await tx.session.execute(
        sa.select(Household.status, Household.attribute, Household.primary_cause,
                  sa.func.count(), sa.func.coalesce(sa.func.sum(sizes.c.n), 0))
        .select_from(Household)
        .outerjoin(sizes, sizes.c.household_id == Household.id)
        .where(in_scope)
        .group_by(Household.status, Household.attribute, Household.primary_cause))).all()
    result: dict = {"region": region, "households": _tally(), "people": _tally()}
    for status, attribute, cause, households, persons in rows:
        for key, tally in (("households", households), ("people", persons)):
            bucket = result[key]
            tally = int(tally)
            bucket["total"] += tally
            for dim, value in (("by_status", status), ("by_attribute", attribute),
                               ("by_primary_cause", cause)):
                bucket[dim][value] = bucket[dim].get(value, 0) + tally
    result["villages"] = await village_incidence(tx, region=region)
    return result


def _percent(part: int, whole: int | None) -> str | None:
    if not whole:
        return None
    return str((Decimal(part * 100) / whole).quantize(Decimal("0.01"), ROUND_HALF_UP))


def _tally() -> dict:
    return {"total": 0, "by_status": {}, "by_attribute": {}, "by_primary_cause": {}}


async def village_incidence(tx: Tx, *, region: str) -> list[dict]:
    """Per village in scope: population, poor people (poor + relapsed), incidence."""
    poor = (sa.select(Household.region_code.label("code"),
                      sa.func.count(Member.id).label("poor_people"))
            .join(Member, Member.household_id == Household.id)
            .where(Household.status.in_(POOR_STATUSES), Member.removed_on.is_(None),
                   Household.region_code.like(_like_prefix(region), escape="/"))
            .group_by(Household.region_code).subquery())
    rows = (await tx.session.execute(
        sa.select(Region.code, Region.name, Region.is_poor_village, Region.population,
                  Region.exited_year, sa.func.coalesce(poor.c.poor_people, 0))
        .outerjoin(poor, poor.c.code == Region.code)
        .where(Region.level == "village", Region.code.like(_like_prefix(region), escape="/"),
               sa.or_(Region.is_poor_village.is_(True), poor.c.poor_people.is_not(None)))
        .order_by(Region.code))).all()
    return [{
        "code": code, "name": name, "is_poor_village": is_poor, "population": population,
        "exited_year": exited, "poor_people": poor_people,
        "incidence_percent": _percent(poor_people, population),
    } for code, name, is_poor, population, exited, poor_people in rows]
