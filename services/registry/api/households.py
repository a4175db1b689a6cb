"""Routes for households and members (建档立卡)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Response

from services.registry.api.schemas import HouseholdCreate, HouseholdRead, MemberRead
from services.registry.db.tables import Household, Member
from services.registry.domain import households
from shared.auth import Principal, require
from shared.tx import Tx
from shared.web import TxDep, etag, service_router

router = service_router("registry", tags=["registry: households 贫困户"])
Reader = Annotated[Principal, require("registry:read")]
Writer = Annotated[Principal, require("registry:write")]


def household_read(tx: Tx, household: Household, members: list[Member], *,
                   principal: Principal) -> HouseholdRead:
    reveal = principal.has("pii:read")
    return HouseholdRead(
        id=household.id, household_no=household.household_no,
        village_code=household.region_code, status=household.status,
        attribute=household.attribute, identified_year=household.identified_year,
        primary_cause=household.primary_cause, secondary_causes=household.secondary_causes,
        version=household.version, created_at=household.created_at,
        updated_at=household.updated_at,
        members=[MemberRead(
            id=m.id, name=m.name, id_number=households.displayed_id_number(tx, m, reveal=reveal),
            relation=m.relation, labor_ability=m.labor_ability, health=m.health,
            schooling=m.schooling, sex=m.sex, birth_date=m.birth_date, removed_on=m.removed_on,
            removed_reason=m.removed_reason) for m in members],
    )


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
    household, members = await households.get_household(tx, household_id)
    principal.ensure_visible(household.region_code, "贫困户")
    response.headers["ETag"] = etag(household.version)
    return household_read(tx, household, members, principal=principal)
