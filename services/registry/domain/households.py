"""Households and members (建档立卡): registration and reading."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from services.registry.db.tables import Household, HouseholdCounter, Member, Region
from services.registry.domain import counters
from services.registry.domain.enums import HouseholdStatus
from shared.db import insert_ignore, select_rows
from shared.errors import Conflict, NotFound, Unprocessable
from shared.events.registry import HouseholdRegistered, HouseholdUpdated, MemberFacts
from shared.idnumber import mask_id_number, parse_id_number
from shared.ids import new_id
from shared.tx import Tx


async def register_household(tx: Tx, *, village_code: str, attribute: str, identified_year: int,
                             primary_cause: str, secondary_causes: list[str],
                             members: list[dict]) -> tuple[Household, list[Member]]:
    """Register a poor household with its members; status starts as `poor`."""
    village = await tx.session.get(Region, village_code)
    if village is None:
        raise Unprocessable("unknown_village", "所在村不存在 (unknown village)",
                            field="village_code")
    if village.level != "village":
        raise Unprocessable("not_a_village", "所在村代码必须是村级区划 (not a village code)",
                            field="village_code")
    hashes = [tx.cipher.blind_index(m["id_number"]) for m in members]
    if len(set(hashes)) != len(hashes):
        raise Conflict("person_already_registered",
                       "同一人在本户中重复登记 (the same person appears twice)", field="members")
    await _ensure_not_registered(tx, hashes)
    household = Household(
        id=new_id(), household_no=await _next_household_no(tx, village_code),
        region_code=village_code, status=HouseholdStatus.poor.value, attribute=attribute,
        identified_year=identified_year, primary_cause=primary_cause,
        secondary_causes=list(secondary_causes))
    rows = [_member(tx, household.id, m, h) for m, h in zip(members, hashes, strict=True)]
    tx.session.add(household)
    await tx.session.flush()
    tx.session.add_all(rows)
    try:
        await tx.session.flush()
    except IntegrityError:
        raise _already_registered() from None
    await counters.refresh(tx, [village_code])  # statistics counters, same transaction
    tx.emit(_registered_event(household, rows), subject=household.id, region_code=village_code)
    tx.audit("household.register", "household", household.id, region_code=village_code,
             after=snapshot(household, rows))
    return household, rows


async def get_household(tx: Tx, household_id: str) -> tuple[Household, list[Member]]:
    household = await tx.session.get(Household, household_id)
    if household is None:
        raise NotFound("贫困户")
    members = (await tx.session.execute(
        sa.select(Member).where(Member.household_id == household_id).order_by(Member.created_at,
                                                                              Member.id)
    )).scalars().all()
    return household, list(members)


class HouseholdView(NamedTuple):
    """A household row as read for display (no ORM identity map, nothing to flush)."""

    id: str
    household_no: str
    region_code: str
    status: str
    attribute: str
    identified_year: int
    primary_cause: str
    secondary_causes: list[str]
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class MemberView(NamedTuple):
    """A member row as read for display; `id_cipher` is decrypted only to be masked/shown."""

    id: str
    household_id: str
    name: str
    id_cipher: str
    id_hash: str
    relation: str
    labor_ability: str
    health: str
    schooling: str
    sex: str
    birth_date: dt.date
    removed_on: dt.date | None
    removed_reason: str | None
    created_at: dt.datetime


_H = Household.__table__
_M = Member.__table__
_M_COLUMNS = [_M.c[name].label(f"m_{name}") for name in MemberView._fields]


_CAUSES = HouseholdView._fields.index("secondary_causes")


def with_members(households: sa.Subquery) -> sa.Select:
    """One statement: the rows of `households` (a subquery of household rows) each joined
    with its members, household by household in id order, members in registration order.
    One statement is one snapshot and one round trip. The JSON column comes as its text,
    parsed once per household by `views_of` rather than once per member row."""
    columns = [households.c[name] for name in HouseholdView._fields]
    columns[_CAUSES] = sa.cast(columns[_CAUSES], sa.Text).label("secondary_causes")
    return (sa.select(*columns, *_M_COLUMNS)
            .select_from(households.outerjoin(_M, _M.c.household_id == households.c.id))
            .order_by(households.c.id, _M.c.created_at, _M.c.id))


async def run_with_members(tx: Tx, statement: sa.Select, params: dict
                           ) -> list[tuple[HouseholdView, list[MemberView]]]:
    """Run a `with_members` statement on the session's connection (plain rows: the ORM's
    result machinery has nothing to do) and fold the rows into (household, members)."""
    return views_of(await select_rows(tx.session, statement, params))


def views_of(rows: Sequence[sa.Row]) -> list[tuple[HouseholdView, list[MemberView]]]:
    """Fold `with_members` rows into (household, members) pairs, in row order."""
    width = len(HouseholdView._fields)
    out: list[tuple[HouseholdView, list[MemberView]]] = []
    for row in rows:
        values = tuple(row)
        if not out or out[-1][0].id != values[0]:
            head = list(values[:width])
            head[_CAUSES] = json.loads(head[_CAUSES]) if head[_CAUSES] is not None else []
            out.append((HouseholdView._make(head), []))
        if values[width] is not None:  # a member id (outer join: a household has members)
            out[-1][1].append(MemberView._make(values[width:]))
    return out


# Built once: composing the statement per request costs more than running it.
_ONE_HOUSEHOLD = with_members(
    sa.select(_H).where(_H.c.id == sa.bindparam("household_id")).subquery("h"))


async def read_household(tx: Tx, household_id: str) -> tuple[HouseholdView, list[MemberView]]:
    """A household and all its members (removed ones too) for display, in one statement."""
    found = await run_with_members(tx, _ONE_HOUSEHOLD, {"household_id": household_id})
    if not found:
        raise NotFound("贫困户")
    return found[0]


def snapshot(household: Household, members: list[Member]) -> dict:
    """An audit snapshot: ID numbers appear only masked."""
    data = household.model_dump(mode="json", exclude={"created_at", "updated_at"})
    data["members"] = [
        {"id": m.id, "relation": m.relation, "removed_on": m.removed_on and str(m.removed_on),
         "id_hash": m.id_hash[:12]} for m in members
    ]
    return data


def member_facts(member: Member) -> MemberFacts:
    return MemberFacts(
        member_id=member.id, relation=member.relation, labor_ability=member.labor_ability,
        health=member.health, schooling=member.schooling, sex=member.sex,
        birth_year=member.birth_date.year, id_hash=member.id_hash)


def displayed_id_number(tx: Tx, member: Member, *, reveal: bool) -> str:
    plain = tx.cipher.decrypt(member.id_cipher)
    return plain if reveal else mask_id_number(plain)


def _member(tx: Tx, household_id: str, data: dict, id_hash: str) -> Member:
    info = parse_id_number(data["id_number"])
    return Member(
        id=new_id(), household_id=household_id, name=data["name"],
        id_cipher=tx.cipher.encrypt(info.normalized), id_hash=id_hash,
        relation=data["relation"], labor_ability=data["labor_ability"], health=data["health"],
        schooling=data["schooling"], sex=info.sex, birth_date=info.birth_date)


def _registered_event(household: Household, members: list[Member]) -> HouseholdRegistered:
    return HouseholdRegistered(
        household_id=household.id, household_no=household.household_no,
        region_code=household.region_code, status=household.status,
        attribute=household.attribute, identified_year=household.identified_year,
        primary_cause=household.primary_cause, secondary_causes=household.secondary_causes,
        members=[member_facts(m) for m in members])


async def _ensure_not_registered(tx: Tx, hashes: list[str]) -> None:
    taken = (await tx.session.execute(
        sa.select(Member.id).where(Member.id_hash.in_(hashes), Member.removed_on.is_(None))
        .limit(1))).first()
    if taken is not None:
        raise _already_registered()


def _already_registered() -> Conflict:
    return Conflict("person_already_registered",
                    "该人员已在其他贫困户中登记 (person already registered in a household)",
                    field="members")


async def _next_household_no(tx: Tx, village_code: str) -> str:
    """户编号: the village code and a per-village sequence, taken under a row lock."""
    await tx.session.execute(insert_ignore(tx.dialect, HouseholdCounter.__table__,
                                           {"region_code": village_code, "last": 0}))
    counter = await tx.session.get(HouseholdCounter, village_code, with_for_update=True,
                                   populate_existing=True)
    assert counter is not None
    counter.last += 1
    return f"{village_code}{counter.last:05d}"


async def lock_household(tx: Tx, household_id: str) -> Household:
    """Load a household under a row lock (a write follows)."""
    household = await tx.session.get(Household, household_id, with_for_update=True,
                                     populate_existing=True)
    if household is None:
        raise NotFound("贫困户")
    return household


def current(members: list[Member]) -> list[Member]:
    return [m for m in members if m.removed_on is None]


async def current_member_count(tx: Tx, household_id: str) -> int:
    value = await tx.session.scalar(
        sa.select(sa.func.count(Member.id))
        .where(Member.household_id == household_id, Member.removed_on.is_(None)))
    return int(value or 0)


def touch(household: Household) -> None:
    """Bump the version (the ETag) after any change to the household or its members."""
    household.version += 1
    household.updated_at = dt.datetime.now(dt.UTC)


async def update_household(tx: Tx, household: Household, *, changes: dict,
                           head_member_id: str | None = None,
                           former_head_relation: str = "other") -> list[Member]:
    """Change attributes, causes, or the head (户主变更); returns the members."""
    _, members = await get_household(tx, household.id)
    before = snapshot(household, members)
    primary = changes.get("primary_cause", household.primary_cause)
    secondary = changes.get("secondary_causes", household.secondary_causes)
    if primary in secondary or len(set(secondary)) != len(secondary):
        raise Unprocessable("duplicate_cause",
                            "次要致贫原因不能重复，也不能与主要原因相同 (duplicate cause)",
                            field="secondary_causes")
    changed = [k for k, v in changes.items() if getattr(household, k) != v]
    for name in changed:
        setattr(household, name, changes[name])
    if head_member_id is not None and _change_head(members, head_member_id,
                                                    former_head_relation):
        changed.append("head")
    if not changed:
        return members
    touch(household)
    tx.session.add(household)
    if {"attribute", "primary_cause", "region_code", "status"} & set(changed):
        await counters.refresh(tx, [household.region_code])  # statistics counters
    head = next(m for m in current(members) if m.relation == "head")
    tx.emit(HouseholdUpdated(
        household_id=household.id, region_code=household.region_code, changed=changed,
        attribute=household.attribute, primary_cause=household.primary_cause,
        secondary_causes=household.secondary_causes, version=household.version,
        head_member_id=head.id), subject=household.id, region_code=household.region_code)
    tx.audit("household.update", "household", household.id, region_code=household.region_code,
             before=before, after=snapshot(household, members))
    return members


def _change_head(members: list[Member], head_member_id: str, former_relation: str) -> bool:
    """Make a current member the head; the former head takes `former_relation`."""
    if former_relation == "head":
        raise Unprocessable("head_count", "原户主的新关系不能是户主 (exactly one head)",
                            field="former_head_relation")
    target = next((m for m in current(members) if m.id == head_member_id), None)
    if target is None:
        raise Unprocessable("unknown_member", "新户主不是本户现有成员 (not a current member)",
                            field="head_member_id")
    if target.relation == "head":
        return False
    for m in current(members):
        if m.relation == "head":
            m.relation = former_relation
    target.relation = "head"
    return True
