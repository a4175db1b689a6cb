"""Household members joining and leaving (增员 / 减员). A removed member keeps its row."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.exc import IntegrityError

from services.registry.db.tables import Household, Member
from services.registry.domain import counters
from services.registry.domain.households import (
    _already_registered,
    _ensure_not_registered,
    _member,
    current,
    get_household,
    member_facts,
    snapshot,
    touch,
)
from shared.errors import Conflict, NotFound, Unprocessable
from shared.events.registry import MemberAdded, MemberRemoved
from shared.tx import Tx


async def add_member(tx: Tx, household: Household, *, data: dict) -> Member:
    """Add a person to a household; one person belongs to one household at a time."""
    _, members = await get_household(tx, household.id)
    if data["relation"] == "head" and any(m.relation == "head" for m in current(members)):
        raise Unprocessable("head_count", "本户已有户主；请先变更户主 (household already has a head)",
                            field="relation")
    id_hash = tx.cipher.blind_index(data["id_number"])
    await _ensure_not_registered(tx, [id_hash])
    before = snapshot(household, members)
    member = _member(tx, household.id, data, id_hash)
    tx.session.add(member)
    try:
        await tx.session.flush()
    except IntegrityError:
        raise _already_registered() from None
    members.append(member)
    touch(household)
    tx.session.add(household)
    await counters.refresh(tx, [household.region_code])  # statistics counters, same transaction
    count = len(current(members))
    tx.emit(MemberAdded(household_id=household.id, region_code=household.region_code,
                        member=member_facts(member), member_count=count),
            subject=household.id, region_code=household.region_code)
    tx.audit("household.member_add", "household", household.id,
             region_code=household.region_code, before=before, after=snapshot(household, members))
    return member


async def remove_member(tx: Tx, household: Household, *, member_id: str, reason: str,
                        removed_on: dt.date | None = None) -> Member:
    """Mark a member as gone (death, moving out, ...); the head must be changed first."""
    _, members = await get_household(tx, household.id)
    member = next((m for m in members if m.id == member_id), None)
    if member is None:
        raise NotFound("家庭成员")
    if member.removed_on is not None:
        raise Conflict("member_already_removed", "该成员已减员 (member already removed)",
                       field="member_id")
    if member.relation == "head":
        raise Unprocessable("head_removal",
                            "不能直接减去户主，请先变更户主 (set another head before removing this one)",
                            field="member_id")
    before = snapshot(household, members)
    member.removed_on = removed_on or dt.date.today()
    member.removed_reason = reason
    tx.session.add(member)
    touch(household)
    tx.session.add(household)
    await counters.refresh(tx, [household.region_code])  # statistics counters, same transaction
    count = len(current(members))
    tx.emit(MemberRemoved(household_id=household.id, region_code=household.region_code,
                          member_id=member.id, reason=reason, member_count=count),
            subject=household.id, region_code=household.region_code)
    tx.audit("household.member_remove", "household", household.id,
             region_code=household.region_code, before=before, after=snapshot(household, members))
    return member
