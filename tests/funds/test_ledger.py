"""Allocations, disbursements and reversals: an append-only ledger in fen, with every bad
input rejected before anything is stored or published."""

import json

from tests.funds.helpers import (
    COUNTY,
    counts,
    disbursement_body,
    error_code,
    get,
    household_leaves,
    new_allocation,
    new_disbursement,
    new_project,
    new_source,
    post,
    registered_household,
)
from tests.support.db import rows
from tests.support.factories import OTHER_COUNTY_VILLAGE


async def _rejected(p, path, body, status=422, **auth) -> str:
    before = await counts(p)
    r = await post(p, path, body, **auth)
    assert r.status_code == status, r.text
    assert await counts(p) == before
    return error_code(r)


def _allocation_body(source, project, amount="100.00"):
    return {"source_id": source["id"], "project_id": project["id"], "amount": amount,
            "document_no": "县扶贫办〔2026〕5号", "allocated_on": "2026-01-15"}


class TestAllocations:
    async def test_allocate_updates_computed_totals_and_publishes(self, funds):
        source, project = await new_source(funds, amount="1000.00"), await new_project(funds)
        allocation = await new_allocation(funds, source, project, "400.10")
        assert allocation["amount"] == "400.10" and allocation["available"] == "400.10"
        s = (await get(funds, f"/sources/{source['id']}")).json()
        assert (s["allocated"], s["available"], s["disbursed"]) == ("400.10", "599.90", "0.00")
        pr = (await get(funds, f"/projects/{project['id']}")).json()
        assert (pr["allocated"], pr["disbursed"], pr["available"]) == ("400.10", "0.00", "400.10")
        events = await rows(funds.runtime("funds"), "SELECT type, key, payload FROM outbox "
                                                    "WHERE type LIKE '%allocation%'")
        assert len(events) == 1 and events[0].key == allocation["id"]
        data = json.loads(events[0].payload)["data"]
        assert data["amount_fen"] == 40010 and data["source_id"] == source["id"]
        audit = await rows(funds.runtime("funds"),
                           "SELECT actor FROM audit_log WHERE action = 'allocation.make'")
        assert [a.actor for a in audit] == ["tester"]

    async def test_insufficient_funds(self, funds):
        source, project = await new_source(funds, amount="1000.00"), await new_project(funds)
        await new_allocation(funds, source, project, "600.00")
        code = await _rejected(funds, "/allocations", _allocation_body(source, project, "400.01"))
        assert code == "insufficient_funds"
        await new_allocation(funds, source, project, "400.00")  # exactly the rest is fine

    async def test_category_not_permitted(self, funds):
        source = await new_source(funds, permitted_categories=["infrastructure"])
        project = await new_project(funds, category="industry")
        assert await _rejected(funds, "/allocations",
                               _allocation_body(source, project)) == "category_not_permitted"

    async def test_project_not_approved(self, funds):
        source, project = await new_source(funds), await new_project(funds, approve=False)
        assert await _rejected(funds, "/allocations",
                               _allocation_body(source, project)) == "project_not_approved"

    async def test_region_mismatch(self, funds):
        source = await new_source(funds, region_code=OTHER_COUNTY_VILLAGE[:6])
        project = await new_project(funds)
        assert await _rejected(funds, "/allocations",
                               _allocation_body(source, project)) == "region_mismatch"

    async def test_negative_and_three_decimal_amounts(self, funds):
        source, project = await new_source(funds), await new_project(funds)
        assert await _rejected(funds, "/allocations",
                               _allocation_body(source, project, "-1")) == "negative_amount"
        assert await _rejected(funds, "/allocations", _allocation_body(
            source, project, "1.001")) == "too_many_decimals"
        assert await _rejected(funds, "/allocations",
                               _allocation_body(source, project, "0")) == "invalid_amount"

    async def test_unknown_source_404(self, funds):
        project = await new_project(funds)
        code = await _rejected(funds, "/allocations",
                               _allocation_body({"id": "nope"}, project), 404)
        assert code == "not_found"

    async def test_source_outside_caller_region_404(self, funds):
        source = await new_source(funds)
        project = await new_project(funds)
        code = await _rejected(funds, "/allocations", _allocation_body(source, project), 404,
                               region="430903", scopes=["funds:write"])
        assert code == "not_found"


class TestDisbursements:
    async def test_pay_to_a_registered_household(self, funds):
        hid = await registered_household(funds)
        source, project = await new_source(funds), await new_project(funds)
        allocation = await new_allocation(funds, source, project, "1000.00")
        entry = await new_disbursement(funds, allocation, "300.00", household_id=hid,
                                       payee="张三")
        assert entry["amount"] == "300.00" and entry["household_id"] == hid
        a = (await get(funds, f"/allocations/{allocation['id']}")).json()
        assert (a["disbursed"], a["available"]) == ("300.00", "700.00")
        events = await rows(funds.runtime("funds"), "SELECT payload FROM outbox "
                                                    "WHERE type LIKE '%disbursement.made'")
        assert len(events) == 1 and "张三" not in events[0].payload
        assert json.loads(events[0].payload)["data"]["amount_fen"] == 30000

    async def test_exceeds_allocation(self, funds):
        source, project = await new_source(funds), await new_project(funds)
        allocation = await new_allocation(funds, source, project, "1000.00")
        await new_disbursement(funds, allocation, "999.99")
        code = await _rejected(funds, "/disbursements", disbursement_body(allocation, "0.02"))
        assert code == "exceeds_allocation"

    async def test_unknown_household(self, funds):
        source, project = await new_source(funds), await new_project(funds)
        allocation = await new_allocation(funds, source, project)
        body = disbursement_body(allocation, household_id="no-such-household")
        assert await _rejected(funds, "/disbursements", body) == "unknown_household"

    async def test_household_outside_project_region(self, funds):
        other = await registered_household(funds, OTHER_COUNTY_VILLAGE)
        source, project = await new_source(funds), await new_project(funds)
        allocation = await new_allocation(funds, source, project)
        body = disbursement_body(allocation, household_id=other)
        assert await _rejected(funds, "/disbursements", body) == "unknown_household"

    async def test_household_that_left_the_registry(self, funds):
        hid = await registered_household(funds)
        source, project = await new_source(funds), await new_project(funds)
        allocation = await new_allocation(funds, source, project)
        await household_leaves(funds, hid)
        body = disbursement_body(allocation, household_id=hid)
        assert await _rejected(funds, "/disbursements", body) == "unknown_household"

    async def test_negative_and_three_decimal_amounts(self, funds):
        source, project = await new_source(funds), await new_project(funds)
        allocation = await new_allocation(funds, source, project)
        assert await _rejected(funds, "/disbursements",
                               disbursement_body(allocation, "-3.00")) == "negative_amount"
        assert await _rejected(funds, "/disbursements",
                               disbursement_body(allocation, "3.333")) == "too_many_decimals"

    async def test_outside_caller_region(self, funds):
        source, project = await new_source(funds), await new_project(funds)
        allocation = await new_allocation(funds, source, project)
        code = await _rejected(funds, "/disbursements", disbursement_body(allocation), 404,
                               region="430903", scopes=["funds:write"])
        assert code == "not_found"


class TestReversals:
    async def test_reversal_is_a_new_entry_and_frees_the_money(self, funds):
        source, project = await new_source(funds), await new_project(funds)
        allocation = await new_allocation(funds, source, project, "1000.00")
        entry = await new_disbursement(funds, allocation, "1000.00")
        r = await post(funds, f"/disbursements/{entry['id']}/reverse", {"reason": "重复支付"},
                       sub="auditor")
        assert r.status_code == 201, r.text
        assert r.json()["amount"] == "1000.00" and r.json()["created_by"] == "auditor"
        stored = await rows(funds.runtime("funds"), "SELECT amount_fen FROM disbursements")
        assert [s.amount_fen for s in stored] == [100000]  # the original row is untouched
        assert (await get(funds, f"/disbursements/{entry['id']}")).json()["reversed"] is True
        again = await new_disbursement(funds, allocation, "1000.00")
        assert again["amount"] == "1000.00"
        types = [e.type for e in await rows(funds.runtime("funds"),
                                            "SELECT type FROM outbox ORDER BY id")]
        assert "cn.fupin.funds.disbursement.reversed" in types

    async def test_reversing_twice_rejected(self, funds):
        source, project = await new_source(funds), await new_project(funds)
        allocation = await new_allocation(funds, source, project)
        entry = await new_disbursement(funds, allocation)
        path = f"/disbursements/{entry['id']}/reverse"
        assert (await post(funds, path, {"reason": "退回"})).status_code == 201
        assert await _rejected(funds, path, {"reason": "again"}) == "already_reversed"

    async def test_reason_required(self, funds):
        source, project = await new_source(funds), await new_project(funds)
        entry = await new_disbursement(funds, await new_allocation(funds, source, project))
        assert await _rejected(funds, f"/disbursements/{entry['id']}/reverse",
                               {}) == "required"


async def test_maintained_balances_match_the_ledger(funds):
    source, project = await new_source(funds), await new_project(funds)
    allocation = await new_allocation(funds, source, project, "1000.00")
    first = await new_disbursement(funds, allocation, "100.00")
    await new_disbursement(funds, allocation, "250.50")
    await post(funds, f"/disbursements/{first['id']}/reverse", {"reason": "错付"})
    rt = funds.runtime("funds")
    (balance,) = await rows(rt, "SELECT disbursed_fen FROM allocation_balances")
    (paid,) = await rows(rt, "SELECT SUM(amount_fen) AS s FROM disbursements")
    (undone,) = await rows(rt, "SELECT SUM(amount_fen) AS s FROM reversals")
    assert balance.disbursed_fen == paid.s - undone.s == 25050
    assert (await get(funds, f"/sources/{source['id']}")).json()["disbursed"] == "250.50"
    assert COUNTY == source["region_code"]
