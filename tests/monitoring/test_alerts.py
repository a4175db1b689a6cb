"""Alerts: one open per household, due date by the region's rule, overdue ordering, the
recorded procedure, enrolment and dismissal; closed alerts refuse further decisions."""

import asyncio
import datetime as dt
import json

import pytest

from services.monitoring.domain import calendar
from tests.monitoring.helpers import API, monitoring_counts, project, registered
from tests.support.db import rows


@pytest.fixture
def today(monkeypatch):
    """A settable 'today in Asia/Shanghai' so due dates and overdue flags can be checked."""
    state = {"today": dt.date(2024, 6, 3)}  # a Monday
    monkeypatch.setattr(calendar, "today", lambda: state["today"])
    return state


async def _alert(platform, household_id, kind="disaster", source="self_report", headers=None):
    r = await platform.client("monitoring").post(
        f"{API}/signals", json={"household_id": household_id, "source": source, "kind": kind,
                                "occurred_on": "2024-06-01"},
        headers=headers or platform.auth())
    assert r.status_code == 201, r.text
    return r.json()["alert_id"]


async def test_due_date_calendar_and_working_days(monitoring, today):
    a, b = registered(), registered(village="430903100201")
    await project(monitoring, a, b)
    client, auth = monitoring.client("monitoring"), monitoring.auth()
    r = await client.put(f"{API}/rules/2024", json={"region_code": "430903", "due_days": 20,
                                                    "working_days": True}, headers=auth)
    assert r.status_code == 200
    first = (await client.get(f"{API}/alerts/{await _alert(monitoring, a.household_id)}",
                              headers=auth)).json()
    assert first["due_on"] == "2024-06-18"
    assert first["overdue"] is False
    second = (await client.get(f"{API}/alerts/{await _alert(monitoring, b.household_id)}",
                               headers=auth)).json()
    assert second["due_on"] == "2024-07-01"  # 20 working days from Monday 3 June


async def test_overdue_listed_oldest_first(monitoring, today):
    hs = [registered() for _ in range(3)]
    await project(monitoring, *hs)
    client, auth = monitoring.client("monitoring"), monitoring.auth()
    ids = []
    for day in (dt.date(2024, 6, 10), dt.date(2024, 6, 1), dt.date(2024, 6, 20)):
        today["today"] = day
        ids.append(await _alert(monitoring, hs[len(ids)].household_id))
    today["today"] = dt.date(2024, 6, 30)
    listed = (await client.get(f"{API}/alerts", headers=auth)).json()["items"]
    assert [a["id"] for a in listed] == [ids[1], ids[0], ids[2]]
    assert [a["overdue"] for a in listed] == [True, True, False]
    late = (await client.get(f"{API}/alerts?overdue=true", headers=auth)).json()["items"]
    assert [a["id"] for a in late] == [ids[1], ids[0]]
    page = (await client.get(f"{API}/alerts?limit=1", headers=auth)).json()
    nxt = (await client.get(f"{API}/alerts?limit=2&cursor={page['next_cursor']}",
                            headers=auth)).json()
    assert [a["id"] for a in nxt["items"]] == [ids[0], ids[2]]
    stats = (await client.get(f"{API}/stats", headers=auth)).json()
    assert stats["alerts"]["overdue"] == 2
    assert stats["alerts"]["by_status"] == {"open": 3}


async def test_region_scoped_lists(monitoring, today):
    a, b = registered(), registered(village="430903100201")
    await project(monitoring, a, b)
    await _alert(monitoring, a.household_id)
    other = await _alert(monitoring, b.household_id)
    client = monitoring.client("monitoring")
    county = monitoring.auth(region="430902", scopes=["monitoring:read"])
    listed = (await client.get(f"{API}/alerts", headers=county)).json()["items"]
    assert [x["household_id"] for x in listed] == [a.household_id]
    hidden = await client.get(f"{API}/alerts/{other}", headers=county)
    assert hidden.status_code == 404


async def test_steps_then_enrol_with_county_approval_rule(monitoring, today):
    h = registered()
    await project(monitoring, h)
    client, auth = monitoring.client("monitoring"), monitoring.auth(sub="cadre-1")
    await client.put(f"{API}/rules/2024", json={"region_code": "4309",
                                                "county_approval_required": True},
                     headers=auth)
    alert_id = await _alert(monitoring, h.household_id)
    enrol = {"category": "sudden_hardship", "risk_types": ["illness", "accident"],
             "decided_on": "2024-06-10"}
    before = await monitoring_counts(monitoring)
    refused = await client.post(f"{API}/alerts/{alert_id}/enroll", json=enrol, headers=auth)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["code"] == "county_approval_required"
    assert await monitoring_counts(monitoring) == before
    short = await client.post(f"{API}/alerts/{alert_id}/steps", json={
        "step": "public_notice", "decided_on": "2024-06-08", "notice_from": "2024-06-04",
        "notice_to": "2024-06-07"}, headers=auth)
    assert short.status_code == 422
    assert short.json()["errors"][0]["code"] == "notice_too_short"
    assert await monitoring_counts(monitoring) == before
    for step in ({"step": "verification", "decided_on": "2024-06-04", "note": "已签承诺授权书"},
                 {"step": "info_check", "decided_on": "2024-06-04"},
                 {"step": "village_review", "decided_on": "2024-06-05"},
                 {"step": "public_notice", "decided_on": "2024-06-10",
                  "notice_from": "2024-06-05", "notice_to": "2024-06-09"},
                 {"step": "township_review", "decided_on": "2024-06-10"},
                 {"step": "county_approval", "decided_on": "2024-06-10"}):
        r = await client.post(f"{API}/alerts/{alert_id}/steps", json=step, headers=auth)
        assert r.status_code == 201, r.text
        assert r.json()["recorded_by"] == "cadre-1"
    case = await client.post(f"{API}/alerts/{alert_id}/enroll", json=enrol, headers=auth)
    assert case.status_code == 201, case.text
    assert case.json()["status"] == "active"
    assert case.json()["risk_types"] == ["illness",
                                                                                "accident"]
    alert = (await client.get(f"{API}/alerts/{alert_id}", headers=auth)).json()
    assert alert["status"] == "enrolled"
    assert alert["case_id"] == case.json()["id"]
    assert [s["step"] for s in alert["steps"]][-1] == "county_approval"
    enrolled = await rows(monitoring.runtime("monitoring"),
                          "SELECT payload FROM outbox WHERE type LIKE '%case.enrolled'")
    assert '"category":"sudden_hardship"' in enrolled[0].payload.replace(" ", "")


async def test_dismiss_then_closed_alert_refuses_decisions(monitoring, today):
    h = registered()
    await project(monitoring, h)
    client, auth = monitoring.client("monitoring"), monitoring.auth()
    alert_id = await _alert(monitoring, h.household_id)
    r = await client.post(f"{API}/alerts/{alert_id}/dismiss",
                          json={"reason": "核实后收入稳定"}, headers=auth)
    assert r.status_code == 200
    assert r.json()["status"] == "dismissed"
    before = await monitoring_counts(monitoring)
    for path, body in ((f"{API}/alerts/{alert_id}/dismiss", {"reason": "again"}),
                       (f"{API}/alerts/{alert_id}/enroll",
                        {"category": "marginal", "risk_types": ["illness"],
                         "decided_on": "2024-06-05"}),
                       (f"{API}/alerts/{alert_id}/steps",
                        {"step": "verification", "decided_on": "2024-06-05"})):
        refused = await client.post(path, json=body, headers=auth)
        assert refused.status_code == 409, refused.text
        assert refused.json()["errors"][0]["code"] == "alert_closed"
    assert await monitoring_counts(monitoring) == before
    # A new lead after the dismissal opens a new alert.
    assert await _alert(monitoring, h.household_id) != alert_id


async def test_enrol_bad_input(monitoring, today):
    h = registered()
    await project(monitoring, h)
    client, auth = monitoring.client("monitoring"), monitoring.auth()
    alert_id = await _alert(monitoring, h.household_id)
    before = await monitoring_counts(monitoring)
    for body, code in (({"category": "rich", "risk_types": ["illness"],
                         "decided_on": "2024-06-05"}, "invalid_enum"),
                       ({"category": "marginal", "risk_types": ["boredom"],
                         "decided_on": "2024-06-05"}, "invalid_enum"),
                       ({"category": "marginal", "risk_types": [],
                         "decided_on": "2024-06-05"}, "too_short")):
        r = await client.post(f"{API}/alerts/{alert_id}/enroll", json=body, headers=auth)
        assert r.status_code == 422
        assert r.json()["errors"][0]["code"] == code
    missing = await client.post(f"{API}/alerts/nope/enroll", json={
        "category": "marginal", "risk_types": ["illness"], "decided_on": "2024-06-05"},
        headers=auth)
    assert missing.status_code == 404
    assert await monitoring_counts(monitoring) == before


async def test_concurrent_leads_share_one_open_alert(monitoring):
    """Ten simultaneous signals for one household: one alert holding every kind."""
    h = registered()
    await project(monitoring, h)
    kinds = ["high_medical_expense", "serious_illness", "disability", "disaster", "accident",
             "unemployment", "income_drop", "school_dropout", "housing_unsafe", "other"]
    results = await asyncio.gather(*(
        monitoring.client("monitoring").post(
            f"{API}/signals", json={"household_id": h.household_id, "source": "cadre_visit",
                                    "kind": k, "occurred_on": "2024-06-01"},
            headers=monitoring.auth()) for k in kinds))
    assert [r.status_code for r in results] == [201] * len(kinds)
    assert len({r.json()["alert_id"] for r in results}) == 1
    found = await rows(monitoring.runtime("monitoring"), "SELECT kinds FROM alerts")
    assert len(found) == 1
    stored = found[0].kinds if isinstance(found[0].kinds, list) else json.loads(found[0].kinds)
    assert sorted(stored) == sorted(kinds)


async def test_idempotency_key_replays_the_signal(monitoring):
    h = registered()
    await project(monitoring, h)
    body = {"household_id": h.household_id, "source": "self_report", "kind": "disaster",
            "occurred_on": "2024-06-01"}
    headers = {**monitoring.auth(), "Idempotency-Key": "sig-1"}
    client = monitoring.client("monitoring")
    first = await client.post(f"{API}/signals", json=body, headers=headers)
    second = await client.post(f"{API}/signals", json=body, headers=headers)
    assert first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert (await monitoring_counts(monitoring))["signals"] == 1


async def test_enum_catalogue_has_chinese_labels(monitoring):
    r = await monitoring.client("monitoring").get(f"{API}/enums")
    catalogue = r.json()
    assert catalogue["Category"]["marginal"] == "边缘易致贫户"
    assert catalogue["SignalSource"]["department"] == "部门筛查预警"
    assert set(catalogue["RiskType"]) >= {"illness", "accident", "industry_failure",
                                           "employment_unstable"}
