"""Automatic work from other services' events, over the real bus (Kafka on the real backend):
an enrolled monitoring case creates a task, a funds stagnant alert opens a rectification.
The upstream services are being written in parallel, so their events are published with the
real payload models, as their outbox relays would."""

import datetime as dt
import json

import pytest

from shared.events.funds import FundsAlertRaised
from shared.events.monitoring import CaseEnrolled
from tests.support.db import count, rows
from tests.support.platform import eventually
from tests.tasks.helpers import COUNTY, TOWNSHIP, VILLAGE, TasksApi, publish

HOUSEHOLD = "0190aaaa-0000-7000-8000-000000000001"


@pytest.fixture
async def api(platform):
    await platform.start("tasks", background=True)
    return TasksApi(platform)


def _enrolled(case_id: str = "case-1", household_id: str = HOUSEHOLD,
              region_code: str = VILLAGE) -> CaseEnrolled:
    return CaseEnrolled(case_id=case_id, alert_id="alert-" + case_id, household_id=household_id,
                        region_code=region_code, category="sudden_hardship",
                        risk_types=["illness", "accident"], decided_on=dt.date(2030, 3, 1))


async def _publish_case(api, payload: CaseEnrolled, event=None):
    return await publish(api.p, payload, service="monitoring", subject=payload.case_id,
                         region_code=payload.region_code, event=event)


async def _tasks(api):
    return await rows(api.rt, "SELECT id, title, lead_unit_id, lead_official_id, due_on, "
                              "region_code, source_key FROM tasks ORDER BY id")


async def test_enrolled_case_goes_to_the_paired_officials_unit(api):
    unit = await api.unit("驻村工作队", VILLAGE)
    await api.unit("某镇人民政府", TOWNSHIP)
    cadre = await api.official(unit["id"], "陈干部")
    # the pairing needs the household in the projection: the same enrolment puts it there
    await _publish_case(api, _enrolled("case-0"))
    await eventually(lambda: count(api.rt, "household_view"))
    r = await api.client.put(f"/api/v1/tasks/pairings/{HOUSEHOLD}",
                             json={"official_id": cadre["id"]}, headers=api.auth())
    assert r.status_code == 200, r.text
    await eventually(lambda: count(api.rt, "tasks"))
    await _publish_case(api, _enrolled("case-1"))
    found = await eventually(lambda: _two(api))
    task = found[1]
    assert task.title == "落实帮扶措施"
    assert task.lead_unit_id == unit["id"]
    assert task.lead_official_id == cadre["id"]
    assert str(task.due_on) == "2030-03-16"  # decided 2030-03-01 + 15 days
    created = await rows(api.rt, "SELECT payload FROM outbox WHERE key = :k", k=task.id)
    assert json.loads(created[0].payload)["data"]["source"] == "monitoring_case"


async def _two(api):
    found = await _tasks(api)
    return found if len(found) == 2 else None


async def test_unpaired_household_goes_to_the_township_unit(api):
    await api.unit("县扶贫办", COUNTY)
    township = await api.unit("某镇人民政府", TOWNSHIP)
    await api.unit("某镇扶贫站", TOWNSHIP)  # later: the first-created township unit wins
    await _publish_case(api, _enrolled())
    (task,) = await eventually(lambda: _tasks(api))
    assert task.lead_unit_id == township["id"]
    assert task.lead_official_id is None
    assert task.region_code == VILLAGE
    assert task.source_key == "monitoring.case:case-1"


async def test_no_township_unit_falls_back_to_the_county(api):
    county = await api.unit("县扶贫办", COUNTY)
    await api.unit("别的镇人民政府", "430902101")
    await _publish_case(api, _enrolled())
    (task,) = await eventually(lambda: _tasks(api))
    assert task.lead_unit_id == county["id"]


async def test_rule_days_are_data(api):
    await api.unit("某镇人民政府", TOWNSHIP)
    r = await api.client.put("/api/v1/tasks/rules/2030", headers=api.auth(),
                             json={"region_code": "4309", "case_task_due_days": 7})
    assert r.status_code == 200, r.text
    await _publish_case(api, _enrolled())
    (task,) = await eventually(lambda: _tasks(api))
    assert str(task.due_on) == "2030-03-08"
    got = await api.get("/rules/2030", params={"region": VILLAGE})
    assert got.json()["region_prefix"] == "4309"
    assert got.json()["case_task_due_days"] == 7


async def test_redelivery_and_republishing_create_one_task(api):
    await api.unit("某镇人民政府", TOWNSHIP)
    event = await _publish_case(api, _enrolled())
    await _publish_case(api, _enrolled(), event=event)  # the same event id again
    await _publish_case(api, _enrolled())  # the same case under a new event id
    await _publish_case(api, _enrolled("case-2"))
    await eventually(lambda: _two(api))
    await eventually(lambda: _inbox(api, 3))  # three distinct event ids
    assert await count(api.rt, "tasks") == 2
    assert await count(api.rt, "outbox", "WHERE type = 'cn.fupin.tasks.task.created'") == 2


async def _inbox(api, n):
    return await count(api.rt, "inbox", "WHERE consumer_group = 'tasks.rules'") >= n


async def test_no_unit_at_all_dead_letters_then_redrives(api):
    from shared.consumer import redrive

    await _publish_case(api, _enrolled())
    await eventually(lambda: count(api.rt, "dead_letters"))
    assert await count(api.rt, "tasks") == 0
    await api.unit("县扶贫办", COUNTY)
    assert await redrive(api.rt) == 1
    (task,) = await _tasks(api)
    assert task.title == "落实帮扶措施"


def _alert(alert_id: str = "fa-1", kind: str = "stagnant", region: str = TOWNSHIP):
    return FundsAlertRaised(alert_id=alert_id, kind=kind, region_code=region,
                            project_id="proj-1", allocation_id="alloc-1", amount_fen=1_250_000,
                            raised_on=dt.date(2030, 2, 1))


async def _rects(api):
    return await rows(api.rt, "SELECT title, source, region_code, responsible_unit_id, "
                              "responsible_person, status, due_on FROM rectifications")


async def test_stagnant_funds_alert_opens_one_rectification(api):
    county = await api.unit("县扶贫办", COUNTY)
    other = _alert("fa-0", kind="overdue_project")
    await publish(api.p, other, service="funds", subject="fa-0", region_code=TOWNSHIP)
    event = await publish(api.p, _alert(), service="funds", subject="fa-1", region_code=TOWNSHIP)
    await publish(api.p, _alert(), service="funds", subject="fa-1", region_code=TOWNSHIP,
                  event=event)
    await publish(api.p, _alert(), service="funds", subject="fa-1", region_code=TOWNSHIP)
    (item,) = await eventually(lambda: _rects(api))
    assert (item.source, item.region_code, item.status) == ("funds_alert", TOWNSHIP, "open")
    assert item.responsible_unit_id == county["id"]  # nearest unit above the township
    assert "12500.00" in item.title
    assert item.responsible_person == "待指定"
    await eventually(lambda: _inbox(api, 3))
    assert await count(api.rt, "rectifications") == 1
    opened = await rows(api.rt, "SELECT payload FROM outbox WHERE type = "
                                "'cn.fupin.tasks.rectification.opened'")
    assert len(opened) == 1
    listed = await api.get("/rectifications", params={"region": COUNTY})
    (shown,) = listed.json()["items"]
    assert shown["source"] == "funds_alert"
    r = await api.post(f"/rectifications/{shown['id']}/close", {"evidence": ""})
    assert r.status_code == 422
    assert r.json()["errors"][0]["code"] == "evidence_required"
