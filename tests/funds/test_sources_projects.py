"""Sources (资金来源) and the project library (村申报 → 乡审核 → 县审定, roll-over)."""

import json

from tests.funds.helpers import (
    COUNTY,
    YEAR,
    counts,
    error_code,
    get,
    new_project,
    new_source,
    post,
    project_body,
    registered_household,
    source_body,
)
from tests.support.db import rows
from tests.support.factories import OTHER_COUNTY_VILLAGE, VILLAGE


class TestSources:
    async def test_register_and_read(self, funds):
        r = await post(funds, "/sources", source_body(amount=4300))
        assert r.status_code == 201, r.text
        data = r.json()
        assert data["amount"] == "4300.00" and data["available"] == "4300.00"
        assert data["allocated"] == "0.00" and data["disbursed"] == "0.00"
        assert data["permitted_categories"] == ["industry", "infrastructure"]
        got = await get(funds, f"/sources/{data['id']}")
        assert got.json() == data
        stored = await rows(funds.runtime("funds"), "SELECT amount_fen FROM sources")
        assert stored[0].amount_fen == 430000
        events = await rows(funds.runtime("funds"), "SELECT type, key, payload FROM outbox")
        assert [e.type for e in events] == ["cn.fupin.funds.source.registered"]
        assert json.loads(events[0].payload)["data"]["amount_fen"] == 430000

    async def test_list_narrowed_to_region(self, funds):
        await new_source(funds)
        await new_source(funds, region_code=OTHER_COUNTY_VILLAGE[:6])
        r = await get(funds, "/sources", region=COUNTY, scopes=["funds:read"])
        assert [s["region_code"] for s in r.json()["items"]] == [COUNTY]

    async def _rejected(self, funds, body, status=422, **auth):
        before = await counts(funds)
        r = await post(funds, "/sources", body, **auth)
        assert r.status_code == status, r.text
        assert await counts(funds) == before
        return error_code(r)

    async def test_negative_amount(self, funds):
        assert await self._rejected(funds, source_body(amount="-1.00")) == "negative_amount"

    async def test_three_decimals(self, funds):
        assert await self._rejected(funds, source_body(amount="1.005")) == "too_many_decimals"

    async def test_fiscal_year_beyond_next_year(self, funds):
        code = await self._rejected(funds, source_body(fiscal_year=YEAR + 2))
        assert code == "fiscal_year_out_of_range"
        assert (await post(funds, "/sources", source_body(fiscal_year=YEAR + 1))).status_code == 201

    async def test_unknown_category(self, funds):
        code = await self._rejected(funds, source_body(permitted_categories=["casino"]))
        assert code == "invalid_enum"

    async def test_outside_region_403(self, funds):
        code = await self._rejected(funds, source_body(), 403, region="430903",
                                    scopes=["funds:write"])
        assert code == "region_forbidden"

    async def test_read_outside_region_404(self, funds):
        source = await new_source(funds)
        r = await get(funds, f"/sources/{source['id']}", region="430903", scopes=["funds:read"])
        assert r.status_code == 404

    async def test_read_scope_cannot_write(self, funds):
        assert await self._rejected(funds, source_body(), 403,
                                    scopes=["funds:read"]) == "missing_scope"


class TestProjectLibrary:
    async def test_proposed_then_approved_directly(self, funds):
        project = await new_project(funds, approve=False)
        assert project["status"] == "proposed" and project["proposed_by"] == "tester"
        assert project["fiscal_year"] == YEAR and project["budget"] == "50000.00"
        r = await post(funds, f"/projects/{project['id']}/approve", {}, sub="county-officer")
        assert r.status_code == 200, r.text
        data = r.json()
        assert data["status"] == "approved" and data["approved_by"] == "county-officer"
        assert data["approved_at"] and data["version"] == 2
        events = await rows(funds.runtime("funds"), "SELECT type FROM outbox")
        assert [e.type for e in events] == ["cn.fupin.funds.project.approved"]

    async def test_review_step_recorded(self, funds):
        project = await new_project(funds, approve=False)
        r = await post(funds, f"/projects/{project['id']}/review", {}, sub="township")
        assert r.status_code == 200 and r.json()["status"] == "reviewed"
        assert r.json()["reviewed_by"] == "township" and r.json()["reviewed_at"]
        r = await post(funds, f"/projects/{project['id']}/approve", {}, sub="county")
        assert r.json()["status"] == "approved" and r.json()["reviewed_by"] == "township"

    async def test_rule_requires_township_review(self, funds):
        r = await funds.client("funds").put(
            f"/api/v1/funds/rules/{YEAR}", headers=funds.auth(),
            json={"region_code": COUNTY, "require_township_review": True})
        assert r.status_code == 200, r.text
        project = await new_project(funds, approve=False)
        before = await counts(funds)
        r = await post(funds, f"/projects/{project['id']}/approve", {})
        assert r.status_code == 422 and error_code(r) == "review_required"
        assert await counts(funds) == before
        assert (await get(funds, f"/projects/{project['id']}")).json()["status"] == "proposed"

    async def test_approve_twice_rejected(self, funds):
        project = await new_project(funds)
        r = await post(funds, f"/projects/{project['id']}/approve", {})
        assert r.status_code == 422 and error_code(r) == "invalid_status"

    async def test_beneficiaries_from_the_registry(self, funds):
        hid = await registered_household(funds)
        project = await new_project(funds, beneficiary_household_ids=[hid])
        assert project["beneficiary_household_ids"] == [hid]
        assert project["beneficiary_count"] == 1

    async def _rejected(self, funds, body, status=422, **auth):
        before = await counts(funds)
        r = await post(funds, "/projects", body, **auth)
        assert r.status_code == status, r.text
        assert await counts(funds) == before
        return error_code(r)

    async def test_unknown_household(self, funds):
        body = project_body(beneficiary_household_ids=["no-such-household"])
        assert await self._rejected(funds, body) == "unknown_household"

    async def test_household_outside_project_region(self, funds):
        other = await registered_household(funds, OTHER_COUNTY_VILLAGE)
        body = project_body(beneficiary_household_ids=[other])
        assert await self._rejected(funds, body) == "unknown_household"

    async def test_project_outside_caller_region(self, funds):
        code = await self._rejected(funds, project_body(region_code=OTHER_COUNTY_VILLAGE), 403,
                                    region=COUNTY, scopes=["funds:write"])
        assert code == "region_forbidden"

    async def test_fiscal_year_beyond_next_year(self, funds):
        code = await self._rejected(funds, project_body(fiscal_year=YEAR + 2))
        assert code == "fiscal_year_out_of_range"

    async def test_negative_budget(self, funds):
        assert await self._rejected(funds, project_body(budget="-5")) == "negative_amount"

    async def test_rollover_moves_unfunded_projects(self, funds):
        unfunded = await new_project(funds, approve=False, fiscal_year=YEAR - 1)
        funded = await new_project(funds, fiscal_year=YEAR - 1)
        source = await new_source(funds, fiscal_year=YEAR - 1)
        r = await post(funds, "/allocations", {
            "source_id": source["id"], "project_id": funded["id"], "amount": "100",
            "document_no": "x", "allocated_on": f"{YEAR - 1}-06-01"})
        assert r.status_code == 201
        r = await post(funds, "/projects/rollover", {"from_year": YEAR - 1, "region": COUNTY})
        assert r.status_code == 200, r.text
        assert r.json() == {"rolled_over": 1, "to_year": YEAR, "project_ids": [unfunded["id"]]}
        moved = (await get(funds, f"/projects/{unfunded['id']}")).json()
        assert moved["fiscal_year"] == YEAR and moved["rolled_over_from"] == YEAR - 1
        assert (await get(funds, f"/projects/{funded['id']}")).json()["fiscal_year"] == YEAR - 1
        events = await rows(funds.runtime("funds"), "SELECT type FROM outbox WHERE type LIKE "
                                                    "'%rolled_over'")
        assert len(events) == 1

    async def test_list_by_status(self, funds):
        await new_project(funds, approve=False)
        approved = await new_project(funds)
        r = await get(funds, f"/projects?status=approved&region={VILLAGE}")
        assert [p["id"] for p in r.json()["items"]] == [approved["id"]]


async def test_enums_with_labels(funds):
    r = await get(funds, "/enums")
    assert r.status_code == 200
    data = r.json()
    assert data["FundKind"]["integrated_agri"] == "统筹整合涉农资金"
    assert set(data["Category"]) >= {"industry", "employment", "infrastructure",
                                     "drinking_water", "housing", "education", "health",
                                     "social_security", "other"}
    assert set(data["FundLevel"]) == {"central", "provincial", "municipal", "county"}


async def test_idempotent_source_registration(funds):
    client, headers = funds.client("funds"), {**funds.auth(), "Idempotency-Key": "src-1"}
    first = await client.post("/api/v1/funds/sources", json=source_body(), headers=headers)
    again = await client.post("/api/v1/funds/sources", json=source_body(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert (await counts(funds))["sources"] == 1


class TestProjectAccess:
    async def test_read_and_approve_outside_region_404(self, funds):
        project = await new_project(funds, approve=False)
        other = {"region": "430903", "scopes": ["funds:read", "funds:write"]}
        assert (await get(funds, f"/projects/{project['id']}", **other)).status_code == 404
        before = await counts(funds)
        r = await post(funds, f"/projects/{project['id']}/approve", {}, **other)
        assert r.status_code == 404 and await counts(funds) == before

    async def test_rollover_bad_inputs(self, funds):
        await new_project(funds, approve=False, fiscal_year=YEAR)
        before = await counts(funds)
        r = await post(funds, "/projects/rollover", {"from_year": YEAR + 1, "region": COUNTY})
        assert r.status_code == 422 and error_code(r) == "fiscal_year_out_of_range"
        r = await post(funds, "/projects/rollover", {"from_year": YEAR, "region": "430903"},
                       region=COUNTY, scopes=["funds:write"])
        assert r.status_code == 403 and error_code(r) == "region_forbidden"
        assert await counts(funds) == before
