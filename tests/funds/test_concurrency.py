"""The invariants under concurrency: 50 simultaneous requests that together would overspend.
Totals never exceed, every rejected request got 422 and wrote nothing."""

import asyncio

from tests.funds.helpers import (
    F,
    disbursement_body,
    new_allocation,
    new_project,
    new_source,
)
from tests.support.db import count, rows

N = 50


async def _fire(p, path, bodies):
    client, headers = p.client("funds"), p.auth()
    return await asyncio.gather(*(client.post(F + path, json=b, headers=headers)
                                  for b in bodies))


async def test_fifty_concurrent_allocations_never_overallocate(funds):
    source = await new_source(funds, amount="1000.00")
    project = await new_project(funds)
    rt = funds.runtime("funds")
    outbox_before = await count(rt, "outbox")
    bodies = [{"source_id": source["id"], "project_id": project["id"], "amount": "70.00",
               "document_no": f"doc-{i}", "allocated_on": "2026-02-01"} for i in range(N)]
    responses = await _fire(funds, "/allocations", bodies)
    accepted = [r for r in responses if r.status_code == 201]
    rejected = [r for r in responses if r.status_code != 201]
    assert len(accepted) == 14  # 14 × 70 = 980 ≤ 1000 < 15 × 70
    assert all(r.status_code == 422 and r.json()["errors"][0]["code"] == "insufficient_funds"
               for r in rejected)
    (total,) = await rows(rt, "SELECT SUM(amount_fen) AS s, COUNT(*) AS n FROM allocations")
    assert total.s == 98000 and total.n == len(accepted)
    assert await count(rt, "outbox") - outbox_before == len(accepted)


async def test_fifty_concurrent_disbursements_never_overdisburse(funds):
    source, project = await new_source(funds), await new_project(funds)
    allocation = await new_allocation(funds, source, project, "1000.00")
    rt = funds.runtime("funds")
    outbox_before = await count(rt, "outbox")
    bodies = [disbursement_body(allocation, "30.00", voucher_no=f"v-{i}") for i in range(N)]
    responses = await _fire(funds, "/disbursements", bodies)
    accepted = [r for r in responses if r.status_code == 201]
    rejected = [r for r in responses if r.status_code != 201]
    assert len(accepted) == 33  # 33 × 30 = 990 ≤ 1000 < 34 × 30
    assert all(r.status_code == 422 and r.json()["errors"][0]["code"] == "exceeds_allocation"
               for r in rejected)
    (total,) = await rows(rt, "SELECT SUM(amount_fen) AS s, COUNT(*) AS n FROM disbursements")
    assert total.s == 99000 and total.n == len(accepted)
    (balance,) = await rows(rt, "SELECT disbursed_fen FROM allocation_balances")
    assert balance.disbursed_fen == 99000
    assert await count(rt, "outbox") - outbox_before == len(accepted)


async def test_concurrent_reversals_of_one_disbursement(funds):
    source, project = await new_source(funds), await new_project(funds)
    allocation = await new_allocation(funds, source, project, "1000.00")
    client = funds.client("funds")
    entry = (await client.post(F + "/disbursements", json=disbursement_body(allocation),
                               headers=funds.auth())).json()
    responses = await _fire(funds, f"/disbursements/{entry['id']}/reverse",
                            [{"reason": f"r{i}"} for i in range(10)])
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [422] * 9
    assert all(r.json()["errors"][0]["code"] == "already_reversed"
               for r in responses if r.status_code == 422)
    assert await count(funds.runtime("funds"), "reversals") == 1
