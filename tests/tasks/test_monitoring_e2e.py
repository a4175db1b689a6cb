"""End to end over the bus with the real upstream services: registry registers a household,
tasks pairs it, monitoring enrols it after a cadre's signal, and tasks assigns "落实帮扶措施"
to the paired official's unit. Three apps, three databases, one bus (Kafka on `real`)."""

import pytest

from tests.support.db import count, rows
from tests.support.factories import household, region_tree
from tests.support.platform import eventually
from tests.tasks.helpers import VILLAGE, TasksApi

MON = "/api/v1/monitoring"


@pytest.fixture
async def three(platform):
    await platform.start("registry", "monitoring", "tasks", separate=True)
    await region_tree(platform.client("registry"), platform.auth())
    return TasksApi(platform)


async def test_enrolment_in_monitoring_creates_a_task_for_the_paired_unit(three):
    api = three
    r = await api.p.client("registry").post("/api/v1/registry/households", json=household(),
                                            headers=api.auth())
    assert r.status_code == 201, r.text
    hid = r.json()["id"]
    await eventually(lambda: count(api.rt, "household_view", f"WHERE household_id = '{hid}'"))
    team = await api.unit("驻村工作队", VILLAGE)
    cadre = await api.official(team["id"], "陈干部", "第一书记")
    paired = await api.client.put(f"/api/v1/tasks/pairings/{hid}",
                                  json={"official_id": cadre["id"]}, headers=api.auth())
    assert paired.status_code == 200, paired.text

    monitoring = api.p.runtime("monitoring")
    await eventually(lambda: count(monitoring, "household_view"))
    mon = api.p.client("monitoring")
    signal = await mon.post(f"{MON}/signals", headers=api.auth(), json={
        "household_id": hid, "source": "cadre_visit", "kind": "serious_illness",
        "occurred_on": "2030-01-05"})
    assert signal.status_code == 201, signal.text
    case = await mon.post(f"{MON}/alerts/{signal.json()['alert_id']}/enroll", headers=api.auth(),
                          json={"category": "unstable", "risk_types": ["illness"],
                                "decided_on": "2030-01-10"})
    assert case.status_code == 201, case.text

    async def created():
        return await rows(api.rt, "SELECT title, lead_unit_id, lead_official_id, due_on, "
                                  "source_key FROM tasks")

    (task,) = await eventually(created, timeout=40)
    assert (task.title, task.lead_unit_id, task.lead_official_id) == (
        "落实帮扶措施", team["id"], cadre["id"])
    assert str(task.due_on) == "2030-01-25"
    assert task.source_key == f"monitoring.case:{case.json()['id']}"
    monitored = await eventually(lambda: rows(
        api.rt, "SELECT 1 FROM household_view WHERE household_id = :h AND monitored", h=hid))
    assert len(monitored) == 1
