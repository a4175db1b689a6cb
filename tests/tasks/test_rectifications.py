"""The rectification ledger (整改台账): named person, deadline, closed only with evidence."""

import json

from tests.support.db import rows
from tests.tasks.helpers import COUNTY, OTHER_COUNTY


def _body(unit_id: str, **overrides) -> dict:
    body = {"title": "排查发现住房安全隐患未整改", "source": "inspection", "region_code": COUNTY,
            "responsible_unit_id": unit_id, "responsible_person": "王五", "due_on": "2020-10-31"}
    body.update(overrides)
    return body


async def test_open_update_close(api):
    unit = await api.unit()
    item = (await api.post("/rectifications", _body(unit["id"]), status=201)).json()
    assert item["status"] == "open"
    assert item["responsible_person"] == "王五"
    assert item["overdue"] is True
    stale = await api.client.patch(f"/api/v1/tasks/rectifications/{item['id']}",
                                   json={"due_on": "2030-01-31"},
                                   headers={**api.auth(), "If-Match": '"9"'})
    assert stale.status_code == 412
    moved = await api.client.patch(f"/api/v1/tasks/rectifications/{item['id']}",
                                   json={"due_on": "2030-01-31", "responsible_person": "赵六"},
                                   headers={**api.auth(), "If-Match": '"1"'})
    assert moved.status_code == 200
    assert moved.json()["overdue"] is False
    closed = (await api.post(f"/rectifications/{item['id']}/close",
                             {"evidence": "整改照片与验收单", "closed_on": "2029-12-01"},
                             status=200)).json()
    assert closed["status"] == "closed"
    assert closed["closed_on"] == "2029-12-01"
    events = await rows(api.rt, "SELECT type, payload FROM outbox ORDER BY id")
    assert [e.type for e in events] == ["cn.fupin.tasks.rectification.opened",
                                        "cn.fupin.tasks.rectification.closed"]
    assert all("王五" not in e.payload and "赵六" not in e.payload for e in events)
    audits = await rows(api.rt, "SELECT action, after FROM audit_log "
                                "WHERE resource_type = 'rectification' ORDER BY at")
    assert [a.action for a in audits] == ["rectification.open", "rectification.update",
                                          "rectification.close"]
    assert all("赵六" not in json.dumps(a.after) for a in audits)
    listed = await api.get("/rectifications", params={"status": "closed"})
    assert [r["id"] for r in listed.json()["items"]] == [item["id"]]


async def test_close_without_evidence_422(api):
    unit = await api.unit()
    item = (await api.post("/rectifications", _body(unit["id"]), status=201)).json()
    await api.rejected(f"/rectifications/{item['id']}/close", {"evidence": ""}, status=422,
                       code="evidence_required")
    await api.rejected(f"/rectifications/{item['id']}/close", {}, status=422,
                       code="evidence_required")


async def test_close_twice_422(api):
    unit = await api.unit()
    item = (await api.post("/rectifications", _body(unit["id"]), status=201)).json()
    await api.post(f"/rectifications/{item['id']}/close", {"evidence": "材料"}, status=200)
    await api.rejected(f"/rectifications/{item['id']}/close", {"evidence": "材料"}, status=422,
                       code="rectification_closed")


async def test_unknown_or_foreign_unit_422(api):
    await api.rejected("/rectifications", _body("0" * 8), status=422, code="unknown_unit")
    foreign = await api.unit("县财政局", OTHER_COUNTY)
    await api.rejected("/rectifications", _body(foreign["id"]), status=422,
                       code="region_mismatch")


async def test_person_and_source_required(api):
    unit = await api.unit()
    await api.rejected("/rectifications", _body(unit["id"], responsible_person=""), status=422,
                       code="string_too_short")
    await api.rejected("/rectifications", _body(unit["id"], source="rumour"), status=422,
                       code="invalid_enum")


async def test_overdue_filter(api):
    unit = await api.unit()
    late = (await api.post("/rectifications", _body(unit["id"]), status=201)).json()
    await api.post("/rectifications", _body(unit["id"], due_on="2099-01-01"), status=201)
    r = await api.get("/rectifications", params={"overdue": "true", "region": COUNTY})
    assert [i["id"] for i in r.json()["items"]] == [late["id"]]
