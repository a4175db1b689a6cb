"""Region-isolation matrix generated from the OpenAPI document.

County B gets one of every kind of resource through the real API. Then, for every
operation in the document, a token for county A (every scope, region A) must not read,
list, change or reference any of B's resources: detail reads answer 404, lists never show
B's ids, writes addressed at B's ids never succeed, and bodies that reference B's
households are refused."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from tests.support.db import count
from tests.support.factories import OTHER_COUNTY_VILLAGE, VILLAGE, household, region_tree
from tests.support.platform import eventually

A, B = VILLAGE[:6], OTHER_COUNTY_VILLAGE[:6]
YEAR = dt.date.today().year


async def _post(client, path, body, headers, expect=(200, 201)):
    r = await client.post(path, json=body, headers=headers)
    assert r.status_code in expect, (path, r.status_code, r.text)
    return r.json()


async def _county_b_world(p) -> dict[str, str]:
    """One of each resource in county B, created by B's own administrator."""
    c, hb = p.client("registry"), p.auth(region=B)
    hid = (await _post(c, "/api/v1/registry/households", household(OTHER_COUNTY_VILLAGE),
                       hb))["id"]
    await eventually(lambda: count(p.runtime("monitoring"), "household_view"))
    await eventually(lambda: _funds_knows(p, hid))
    unit = await _post(c, "/api/v1/tasks/units", {"name": "B县扶贫办", "region_code": B}, hb)
    official = await _post(c, "/api/v1/tasks/officials", {
        "name": "王五", "title": "副县长", "unit_id": unit["id"]}, hb)
    await eventually(lambda: count(p.runtime("tasks"), "household_view"))
    r = await c.put(f"/api/v1/tasks/pairings/{hid}", json={"official_id": official["id"]},
                    headers=hb)
    assert r.status_code in (200, 201), r.text
    signal = await _post(c, "/api/v1/monitoring/signals", {
        "household_id": hid, "source": "cadre_visit", "kind": "serious_illness",
        "occurred_on": f"{YEAR}-01-02"}, hb)
    case = await _post(c, f"/api/v1/monitoring/alerts/{signal['alert_id']}/enroll", {
        "category": "unstable", "risk_types": ["illness"], "decided_on": f"{YEAR}-01-05"}, hb)
    source = await _post(c, "/api/v1/funds/sources", {
        "name": "衔接资金", "level": "county", "kind": "fiscal_special", "fiscal_year": YEAR,
        "document_no": "B〔2026〕1号", "region_code": B, "amount": "1000.00",
        "permitted_categories": ["industry"]}, hb)
    project = await _post(c, "/api/v1/funds/projects", {
        "name": "产业项目", "region_code": OTHER_COUNTY_VILLAGE, "category": "industry",
        "budget": "500.00", "planned_start": f"{YEAR}-03-01", "planned_end": f"{YEAR}-12-31",
        "beneficiary_household_ids": [hid]}, hb)
    await _post(c, f"/api/v1/funds/projects/{project['id']}/approve", {}, hb)
    allocation = await _post(c, "/api/v1/funds/allocations", {
        "source_id": source["id"], "project_id": project["id"], "amount": "100.00",
        "document_no": "B〔2026〕2号", "allocated_on": f"{YEAR}-01-10"}, hb)
    disbursement = await _post(c, "/api/v1/funds/disbursements", {
        "allocation_id": allocation["id"], "amount": "10.00", "payee": "某合作社",
        "paid_on": f"{YEAR}-01-11", "voucher_no": "V-1", "household_id": hid}, hb)
    plan = await _post(c, "/api/v1/tasks/plans", {
        "title": "实施方案", "document_no": "B扶办发〔2026〕1号", "issued_on": f"{YEAR}-01-01",
        "region_code": B}, hb)
    task = await _post(c, "/api/v1/tasks/tasks", {
        "plan_id": plan["id"], "title": "完成危房改造", "region_code": B,
        "lead_unit_id": unit["id"], "lead_official_id": official["id"],
        "cooperating_unit_ids": [], "due_on": f"{YEAR}-12-31"}, hb)
    rect = await _post(c, "/api/v1/tasks/rectifications", {
        "title": "资金滞留", "source": "inspection", "region_code": B,
        "responsible_unit_id": unit["id"], "responsible_person": "赵六",
        "due_on": f"{YEAR}-12-31"}, hb)
    return {"household": hid, "signal": signal["id"], "alert": signal["alert_id"],
            "case": case["id"], "source": source["id"], "project": project["id"],
            "allocation": allocation["id"], "disbursement": disbursement["id"],
            "unit": unit["id"], "official": official["id"], "plan": plan["id"],
            "task": task["id"], "rectification": rect["id"], "village": OTHER_COUNTY_VILLAGE}


async def _funds_knows(p, hid: str) -> bool:
    from tests.support.db import rows

    tables = {r[0] for r in await rows(p.runtime("funds"), _TABLES_SQL[p.backend])}
    name = next((t for t in tables if "household" in t and "benef" not in t), None)
    return bool(name) and bool(await count(p.runtime("funds"), name))


_TABLES_SQL = {
    "embedded": "SELECT name FROM sqlite_master WHERE type = 'table'",
    "real": "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
}


@pytest.fixture
async def world(platform):
    await platform.start("registry", "monitoring", "funds", "tasks")
    client = platform.client("registry")
    await region_tree(client, platform.auth())
    await region_tree(client, platform.auth(), OTHER_COUNTY_VILLAGE)
    platform.b = await _county_b_world(platform)
    doc = (await client.get("/openapi.json")).json()
    platform.operations = [(m, path) for path, ops in doc["paths"].items() for m in ops
                           if path.startswith("/api/v1/")
                           and not path.endswith(("/enums", "/asyncapi.json"))]
    return platform


_POLICY = re.compile(r"/(exit-thresholds|poverty-lines|lines|rules)/")


def _params(path: str) -> list[str]:
    return re.findall(r"\{([^}]+)\}", path)


async def test_detail_reads_of_b_are_404_for_a(world):
    client, ha, hb = world.client("registry"), world.auth(region=A), world.auth(region=B)
    # Rules (poverty and monitoring lines, thresholds, time limits) are published policy,
    # readable by every reader; everything else of B's is invisible to A.
    reads = [p for m, p in world.operations if m == "get" and len(_params(p)) == 1
             and _params(p)[0] != "year" and not _POLICY.search(p)]
    leaked, seen_by_b = [], 0
    for path in reads:
        for value in world.b.values():
            url = re.sub(r"\{[^}]+\}", value, path)
            r = await client.get(url, headers=ha)
            if r.status_code < 300:
                leaked.append((path, value))
            seen_by_b += (await client.get(url, headers=hb)).status_code == 200
    assert not leaked, leaked
    assert seen_by_b >= 12  # the matrix is not vacuous: B itself reads its resources


async def test_lists_never_show_b(world):
    client, ha = world.client("registry"), world.auth(region=A)
    lists = [p for m, p in world.operations if m == "get" and not _params(p)
             and not p.endswith(("/audit", "/template.xlsx"))]
    ids = set(world.b.values()) - {OTHER_COUNTY_VILLAGE}
    leaked = []
    for path in lists:
        r = await client.get(path, headers=ha, params={"fiscal_year": YEAR})
        if r.status_code == 200 and any(i in r.text for i in ids):
            leaked.append(path)
        asked = await client.get(path, headers=ha, params={"region": B, "fiscal_year": YEAR})
        if asked.status_code == 200 and any(i in asked.text for i in ids):
            leaked.append(f"{path}?region={B}")
    assert not leaked, leaked
    assert len(lists) >= 15


async def test_writes_addressed_at_b_never_succeed(world):
    client, ha = world.client("registry"), world.auth(region=A)
    writes = [(m, p) for m, p in world.operations
              if m in ("post", "put", "patch", "delete") and len(_params(p)) >= 1
              and "year" not in _params(p) and "region_code" not in _params(p)]
    succeeded = []
    for method, path in writes:
        for value in world.b.values():
            url = re.sub(r"\{[^}]+\}", value, path)
            r = await client.request(method.upper(), url, json={}, headers=ha)
            if r.status_code < 300:
                succeeded.append((method, path, value, r.status_code))
    assert not succeeded, succeeded
    assert len(writes) >= 20


async def test_bodies_cannot_reference_b(world):
    client, ha = world.client("registry"), world.auth(region=A)
    hid, unit, official = world.b["household"], world.b["unit"], world.b["official"]
    refused = {
        "signal": await client.post("/api/v1/monitoring/signals", headers=ha, json={
            "household_id": hid, "source": "cadre_visit", "kind": "disaster",
            "occurred_on": f"{YEAR}-02-01"}),
        "beneficiary": await client.post("/api/v1/funds/projects", headers=ha, json={
            "name": "A项目", "region_code": VILLAGE, "category": "industry", "budget": "1.00",
            "planned_start": f"{YEAR}-03-01", "planned_end": f"{YEAR}-12-31",
            "beneficiary_household_ids": [hid]}),
        "pairing": await client.put(f"/api/v1/tasks/pairings/{hid}", headers=ha,
                                    json={"official_id": official}),
        "task_unit": await client.post("/api/v1/tasks/tasks", headers=ha, json={
            "title": "A任务", "region_code": A, "lead_unit_id": unit,
            "cooperating_unit_ids": [], "due_on": f"{YEAR}-12-31"}),
        "official_unit": await client.post("/api/v1/tasks/officials", headers=ha, json={
            "name": "李", "title": "科员", "unit_id": unit}),
        "allocation": await client.post("/api/v1/funds/allocations", headers=ha, json={
            "source_id": world.b["source"], "project_id": world.b["project"],
            "amount": "1.00", "document_no": "A", "allocated_on": f"{YEAR}-01-10"}),
    }
    accepted = {k: r.status_code for k, r in refused.items() if r.status_code < 300}
    assert not accepted, accepted
    assert all(r.status_code in (403, 404, 422) for r in refused.values()), {
        k: (r.status_code, json.loads(r.text).get("errors")) for k, r in refused.items()}


async def test_every_write_left_an_audit_row(world):
    """Each resource county B created through the API has its audit entry (who, what)."""
    from tests.support.db import rows

    owners = {"household": "registry", "signal": "monitoring", "case": "monitoring",
              "source": "funds", "project": "funds", "allocation": "funds",
              "disbursement": "funds", "unit": "tasks", "official": "tasks", "plan": "tasks",
              "task": "tasks", "rectification": "tasks"}
    missing = []
    for kind, service in owners.items():
        found = await rows(world.runtime(service),
                           "SELECT actor, action, after FROM audit_log WHERE resource_id = :r",
                           r=world.b[kind])
        if not found or not all(f.actor == "tester" and f.action for f in found):
            missing.append(kind)
    assert not missing, missing
