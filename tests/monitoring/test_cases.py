"""Cases: measures, and risk elimination that lists every unmet condition at once."""

import pytest

from tests.monitoring.helpers import (
    API,
    guarantees,
    handled,
    income,
    monitoring_counts,
    project,
    publish,
    registered,
    set_line,
)


async def _case(platform, household, *, enrolled_on="2024-01-10"):
    client, auth = platform.client("monitoring"), platform.auth()
    r = await client.post(f"{API}/signals", json={
        "household_id": household.household_id, "source": "cadre_visit", "kind": "disaster",
        "occurred_on": "2024-01-05"}, headers=auth)
    case = await client.post(f"{API}/alerts/{r.json()['alert_id']}/enroll", json={
        "category": "unstable", "risk_types": ["disaster"], "decided_on": enrolled_on},
        headers=auth)
    assert case.status_code == 201, case.text
    return case.json()["id"]


async def _measure(platform, case_id, kind="industry"):
    r = await platform.client("monitoring").post(
        f"{API}/cases/{case_id}/measures",
        json={"kind": kind, "description": "发展特色种养", "started_on": "2024-01-15"},
        headers=platform.auth())
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
async def lined(monitoring):
    await set_line(monitoring.client("monitoring"), monitoring.auth(), "7500", region="43")
    return monitoring


async def test_every_unmet_condition_listed(lined):
    h = registered(labor=("none", "lost"))
    await project(lined, h)
    await publish(lined, income(h, 7000), guarantees(h, "housing_safety", "drinking_water"))
    await handled(lined, "monitoring.registry", 3)
    case_id = await _case(lined, h)
    before = await monitoring_counts(lined)
    r = await lined.client("monitoring").post(f"{API}/cases/{case_id}/eliminate",
                                              json={"decided_on": "2024-03-01"},
                                              headers=lined.auth())
    assert r.status_code == 422
    errors = [(e["code"], e["field"]) for e in r.json()["errors"]]
    assert errors == [("income_below_line", "income"), ("guarantee_unmet", "housing_safety"),
                      ("guarantee_unmet", "drinking_water"),
                      ("monitoring_period_too_short", "decided_on"), ("no_measure", "measures"),
                      ("no_labor_capacity", "measures")]
    assert await monitoring_counts(lined) == before


async def test_no_labor_capacity_with_only_social_security(lined):
    h = registered(labor=("none",))
    await project(lined, h)
    await publish(lined, income(h, 9000), guarantees(h))
    await handled(lined, "monitoring.registry", 3)
    case_id = await _case(lined, h)
    await _measure(lined, case_id, "social_security")
    r = await lined.client("monitoring").post(f"{API}/cases/{case_id}/eliminate",
                                              json={"decided_on": "2024-08-01"},
                                              headers=lined.auth())
    assert r.status_code == 422
    assert [e["code"] for e in r.json()["errors"]] == ["no_labor_capacity"]


async def test_eliminated_with_measures_and_history(lined):
    h = registered(labor=("weak", "none"))
    await project(lined, h)
    await publish(lined, income(h, 9000), guarantees(h))
    await handled(lined, "monitoring.registry", 3)
    case_id = await _case(lined, h)
    await _measure(lined, case_id, "social_security")
    await _measure(lined, case_id, "employment")
    client, auth = lined.client("monitoring"), lined.auth()
    r = await client.post(f"{API}/cases/{case_id}/eliminate",
                          json={"decided_on": "2024-07-10"}, headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "eliminated"
    assert r.json()["eliminated_on"] == "2024-07-10"
    got = (await client.get(f"{API}/cases/{case_id}", headers=auth)).json()
    assert [m["kind"] for m in got["measures"]] == ["social_security", "employment"]
    assert [h["action"] for h in got["history"]][-3:] == ["case.measure", "case.measure",
                                                          "case.eliminate"]
    listed = (await client.get(f"{API}/cases?status=eliminated&category=unstable",
                               headers=auth)).json()["items"]
    assert [c["id"] for c in listed] == [case_id]
    before = await monitoring_counts(lined)
    again = await client.post(f"{API}/cases/{case_id}/eliminate",
                              json={"decided_on": "2024-07-11"}, headers=auth)
    assert again.status_code == 409
    assert again.json()["errors"][0]["code"] == "case_closed"
    late = await client.post(f"{API}/cases/{case_id}/measures", json={
        "kind": "other", "description": "x", "started_on": "2024-07-12"}, headers=auth)
    assert late.status_code == 409
    assert await monitoring_counts(lined) == before
    stats = (await client.get(f"{API}/stats?region=430902", headers=auth)).json()
    assert stats["cases"] == {"total": 1, "by_status": {"eliminated": 1},
                              "by_category": {"unstable": 1}, "by_risk_type": {"disaster": 1}}


async def test_second_active_case_for_a_household_409(lined):
    h = registered()
    await project(lined, h)
    await _case(lined, h)
    client, auth = lined.client("monitoring"), lined.auth()
    r = await client.post(f"{API}/signals", json={
        "household_id": h.household_id, "source": "self_report", "kind": "accident",
        "occurred_on": "2024-02-05"}, headers=auth)
    before = await monitoring_counts(lined)
    refused = await client.post(f"{API}/alerts/{r.json()['alert_id']}/enroll", json={
        "category": "unstable", "risk_types": ["accident"], "decided_on": "2024-02-06"},
        headers=auth)
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["code"] == "case_already_active"
    assert await monitoring_counts(lined) == before


async def test_measure_bad_kind(lined):
    h = registered()
    await project(lined, h)
    case_id = await _case(lined, h)
    before = await monitoring_counts(lined)
    r = await lined.client("monitoring").post(f"{API}/cases/{case_id}/measures", json={
        "kind": "magic", "description": "x", "started_on": "2024-01-15"}, headers=lined.auth())
    assert r.status_code == 422
    assert r.json()["errors"][0]["code"] == "invalid_enum"
    assert await monitoring_counts(lined) == before


async def test_elimination_procedure_steps_and_county_approval_rule(lined):
    h = registered()
    await project(lined, h)
    await publish(lined, income(h, 9000), guarantees(h))
    await handled(lined, "monitoring.registry", 3)
    case_id = await _case(lined, h)
    await _measure(lined, case_id)
    client, auth = lined.client("monitoring"), lined.auth(sub="township-1")
    await client.put(f"{API}/rules/2024", json={"region_code": "430902",
                                                "county_approval_required": True},
                     headers=auth)
    before = await monitoring_counts(lined)
    refused = await client.post(f"{API}/cases/{case_id}/eliminate",
                                json={"decided_on": "2024-08-01"}, headers=auth)
    assert [e["code"] for e in refused.json()["errors"]] == ["county_approval_required"]
    short = await client.post(f"{API}/cases/{case_id}/steps", json={
        "step": "public_notice", "decided_on": "2024-07-20", "notice_from": "2024-07-15"},
        headers=auth)
    assert short.status_code == 422
    assert short.json()["errors"][0]["code"] == "notice_period_required"
    assert await monitoring_counts(lined) == before
    for step in ({"step": "verification", "decided_on": "2024-07-10"},
                 {"step": "public_notice", "decided_on": "2024-07-20",
                  "notice_from": "2024-07-15", "notice_to": "2024-07-19"},
                 {"step": "county_approval", "decided_on": "2024-07-30"}):
        r = await client.post(f"{API}/cases/{case_id}/steps", json=step, headers=auth)
        assert r.status_code == 201, r.text
    done = await client.post(f"{API}/cases/{case_id}/eliminate",
                             json={"decided_on": "2024-08-01"}, headers=auth)
    assert done.status_code == 200, done.text
    got = (await client.get(f"{API}/cases/{case_id}", headers=auth)).json()
    assert [s["step"] for s in got["elimination_steps"]] == ["verification", "public_notice",
                                                             "county_approval"]
    assert {s["recorded_by"] for s in got["elimination_steps"]} == {"township-1"}
