"""Routes for households and members (建档立卡)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import Query, Request, Response

from services.registry.api.schemas import (
    HouseholdCreate,
    HouseholdRead,
    HouseholdUpdate,
    MemberCreate,
    MemberRead,
)
from services.registry.db.tables import Household, Member
from services.registry.domain import households
from services.registry.domain import members as membership
from services.registry.domain.enums import Attribute, Cause, HouseholdStatus, RemovalReason
from services.registry.domain.households import HouseholdView, MemberView
from services.registry.domain.search import HouseholdFilter, find_households
from shared.auth import Principal, require
from shared.tx import Tx
from shared.web import Page, PageDep, TxDep, check_if_match, etag, page_of, service_router

router = service_router("registry", tags=["registry: households 贫困户"])
Reader = Annotated[Principal, require("registry:read")]
Writer = Annotated[Principal, require("registry:write")]


def household_read(tx: Tx, household: Household | HouseholdView,
                   members: Sequence[Member | MemberView], *,
                   principal: Principal) -> HouseholdRead:
    reveal = principal.has("pii:read")
    return HouseholdRead(
        id=household.id, household_no=household.household_no,
        village_code=household.region_code, status=household.status,
        attribute=household.attribute, identified_year=household.identified_year,
        primary_cause=household.primary_cause, secondary_causes=household.secondary_causes,
        version=household.version, created_at=household.created_at,
        updated_at=household.updated_at,
        members=[member_read(tx, m, reveal=reveal) for m in members],
    )


def member_read(tx: Tx, m: Member | MemberView, *, reveal: bool) -> MemberRead:
    return MemberRead(
        id=m.id, name=m.name, id_number=households.displayed_id_number(tx, m, reveal=reveal),
        relation=m.relation, labor_ability=m.labor_ability, health=m.health,
        schooling=m.schooling, sex=m.sex, birth_date=m.birth_date, removed_on=m.removed_on,
        removed_reason=m.removed_reason)


async def writable_household(tx: Tx, household_id: str, principal: Principal) -> Household:
    """Lock a household the caller may see (404 otherwise) before changing it."""
    household = await households.lock_household(tx, household_id)
    principal.ensure_visible(household.region_code, "贫困户")
    return household


@router.post("/households", status_code=201, response_model=HouseholdRead,
             summary="贫困户建档立卡 / register a household")
async def register_household(body: HouseholdCreate, tx: TxDep, principal: Writer,
                             response: Response) -> HouseholdRead:
    principal.ensure_writable(body.village_code)
    household, members = await households.register_household(
        tx, village_code=body.village_code, attribute=body.attribute,
        identified_year=body.identified_year, primary_cause=body.primary_cause,
        secondary_causes=[c.value for c in body.secondary_causes],
        members=[m.model_dump(mode="json") for m in body.members])
    response.headers["ETag"] = etag(household.version)
    response.headers["Location"] = f"/api/v1/registry/households/{household.id}"
    return household_read(tx, household, members, principal=principal)


@router.get("/households/{household_id}", response_model=HouseholdRead,
            summary="查询贫困户 / read a household with its members")
async def get_household(household_id: str, tx: TxDep, principal: Reader,
                        response: Response) -> HouseholdRead:
    household, members = await households.read_household(tx, household_id)
    principal.ensure_visible(household.region_code, "贫困户")
    response.headers["ETag"] = etag(household.version)
    return household_read(tx, household, members, principal=principal)


@router.get("/households", response_model=Page[HouseholdRead],
            summary="查询贫困户 / search households (q: name prefix or full ID number)")
async def list_households(
    tx: TxDep, principal: Reader, page: PageDep,
    region: Annotated[str | None, Query(max_length=12)] = None,
    status: HouseholdStatus | None = None, cause: Cause | None = None,
    attribute: Attribute | None = None,
    q: Annotated[str | None, Query(min_length=1, max_length=50)] = None,
) -> Page:
    where = HouseholdFilter(region=principal.narrow(region), status=status, cause=cause,
                            attribute=attribute, q=q and q.strip())
    found, members = await find_households(tx, where=where, limit=page.limit, after=page.after)
    # The extra household only says there is a next page: not decrypted, not rendered.
    items = [household_read(tx, h, members[h.id], principal=principal)
             for h in found[:page.limit]]
    return page_of(items, page.limit, key=lambda h: h.id, more=len(found) > page.limit)


@router.patch("/households/{household_id}", response_model=HouseholdRead,
              summary="变更户属性、致贫原因或户主 / change attributes, causes or head (If-Match)")
async def update_household(household_id: str, body: HouseholdUpdate, tx: TxDep,
                           principal: Writer, request: Request,
                           response: Response) -> HouseholdRead:
    household = await writable_household(tx, household_id, principal)
    check_if_match(request, household.version)
    changes = body.model_dump(mode="json", exclude_unset=True,
                              exclude={"head_member_id", "former_head_relation"})
    changes = {k: v for k, v in changes.items() if v is not None}
    members = await households.update_household(
        tx, household, changes=changes, head_member_id=body.head_member_id,
        former_head_relation=body.former_head_relation.value)
    response.headers["ETag"] = etag(household.version)
    return household_read(tx, household, members, principal=principal)


@router.post("/households/{household_id}/members", status_code=201, response_model=MemberRead,
             summary="新增家庭成员 / add a member")
async def add_member(household_id: str, body: MemberCreate, tx: TxDep, principal: Writer,
                     response: Response) -> MemberRead:
    household = await writable_household(tx, household_id, principal)
    member = await membership.add_member(tx, household, data=body.model_dump(mode="json"))
    response.headers["ETag"] = etag(household.version)
    return member_read(tx, member, reveal=principal.has("pii:read"))


@router.delete("/households/{household_id}/members/{member_id}", response_model=MemberRead,
               summary="减少家庭成员（保留历史）/ remove a member, history kept")
async def remove_member(household_id: str, member_id: str, reason: RemovalReason, tx: TxDep,
                        principal: Writer, response: Response) -> MemberRead:
    household = await writable_household(tx, household_id, principal)
    member = await membership.remove_member(tx, household, member_id=member_id,
                                            reason=reason.value)
    response.headers["ETag"] = etag(household.version)
    return member_read(tx, member, reveal=principal.has("pii:read"))
