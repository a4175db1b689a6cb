"""Model-based property test of the ledger invariants (Hypothesis, embedded runtime).

Random sequences of allocations, disbursements and reversals go through the real API; a
plain model predicts which are accepted. After every step: a source is never
over-allocated, an allocation never over-disbursed, and the API's computed totals equal
the model's."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.money import format_yuan, parse_yuan
from tests.funds.helpers import YEAR, disbursement_body, project_body, source_body
from tests.support.platform import Platform

SOURCE_FEN = 100_000  # 1,000.00 yuan

amounts = st.integers(min_value=1, max_value=60_000)
steps = st.lists(st.one_of(
    st.tuples(st.just("allocate"), amounts),
    st.tuples(st.just("disburse"), st.integers(0, 5), amounts),
    st.tuples(st.just("reverse"), st.integers(0, 9)),
), min_size=1, max_size=14)


async def _run(plan: list[tuple]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        p = Platform("embedded", Path(tmp), None, None)
        try:
            await p.start("funds")
            await _check(p, plan)
        finally:
            await p.close()


async def _check(p: Platform, plan: list[tuple]) -> None:
    c, h, f = p.client("funds"), p.auth(), "/api/v1/funds"
    source = (await c.post(f"{f}/sources", json=source_body(amount=format_yuan(SOURCE_FEN)),
                           headers=h)).json()
    project = (await c.post(f"{f}/projects", json=project_body(), headers=h)).json()
    assert (await c.post(f"{f}/projects/{project['id']}/approve", json={}, headers=h)).is_success
    allocations: list[tuple[str, int]] = []          # (id, amount)
    paid: dict[str, int] = {}                         # allocation id -> net disbursed
    disbursements: list[tuple[str, str, int, bool]] = []  # (id, allocation, amount, reversed)
    for step in plan:
        if step[0] == "allocate":
            fits = sum(a for _, a in allocations) + step[1] <= SOURCE_FEN
            r = await c.post(f"{f}/allocations", headers=h, json={
                "source_id": source["id"], "project_id": project["id"],
                "amount": format_yuan(step[1]), "document_no": "文号",
                "allocated_on": f"{YEAR}-01-10"})
            assert r.status_code == (201 if fits else 422), r.text
            if fits:
                allocations.append((r.json()["id"], step[1]))
            else:
                assert r.json()["errors"][0]["code"] == "insufficient_funds"
        elif step[0] == "disburse" and allocations:
            alloc_id, alloc_amount = allocations[step[1] % len(allocations)]
            fits = paid.get(alloc_id, 0) + step[2] <= alloc_amount
            r = await c.post(f"{f}/disbursements", headers=h, json=disbursement_body(
                {"id": alloc_id}, format_yuan(step[2])))
            assert r.status_code == (201 if fits else 422), r.text
            if fits:
                paid[alloc_id] = paid.get(alloc_id, 0) + step[2]
                disbursements.append((r.json()["id"], alloc_id, step[2], False))
            else:
                assert r.json()["errors"][0]["code"] == "exceeds_allocation"
        elif step[0] == "reverse" and disbursements:
            i = step[1] % len(disbursements)
            d_id, alloc_id, amount, done = disbursements[i]
            r = await c.post(f"{f}/disbursements/{d_id}/reverse", headers=h,
                             json={"reason": "凭证错误"})
            assert r.status_code == (422 if done else 201), r.text
            if not done:
                paid[alloc_id] -= amount
                disbursements[i] = (d_id, alloc_id, amount, True)
        read = (await c.get(f"{f}/sources/{source['id']}", headers=h)).json()
        allocated = parse_yuan(read["allocated"])
        assert allocated == sum(a for _, a in allocations) <= SOURCE_FEN
        assert parse_yuan(read["available"]) == SOURCE_FEN - allocated
        assert parse_yuan(read["disbursed"]) == sum(paid.values())
        assert all(paid[a] <= amount for a, amount in allocations if a in paid)


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(plan=steps)
def test_ledger_invariants_hold_for_any_sequence(plan):
    asyncio.run(_run(plan))
