"""Units, officials, plans and tasks: creation, life cycle, search, and every bad input."""

import json

from tests.support.db import count, rows
from tests.tasks.helpers import COUNTY, OTHER_COUNTY, TOWNSHIP, VILLAGE


async def _events(api, kind: str) -> list[dict]:
    found = await rows(api.rt, "SELECT payload FROM outbox WHERE type = :t ORDER BY id",
                       t=f"cn.fupin.tasks.{kind}")
    return [json.loads(r.payload) for r in found]


class TestUnitsAndOfficials:
    async def test_create_and_read(self, api):
        unit = await api.unit("区扶贫办", COUNTY)
        official = await api.official(unit["id"], "周军", "副区长")
        assert official["region_code"] == COUNTY
        assert official["unit_id"] == unit["id"]
        got = await api.get(f"/officials/{official['id']}")
        assert got.json()["name"] == "周军"
        listed = await api.get("/units", params={"region": "4309"})
        assert [u["id"] for u in listed.json()["items"]] == [unit["id"]]

    async def test_duplicate_unit_name_in_region_409(self, api):
        await api.unit("区扶贫办", COUNTY)
        await api.rejected("/units", {"name": "区扶贫办", "region_code": COUNTY}, status=409,
                           code="unit_exists")
        await api.unit("区扶贫办", OTHER_COUNTY)  # another region may use the name

    async def test_official_of_unknown_unit_422(self, api):
        await api.rejected("/officials", {"name": "王五", "unit_id": "0" * 8}, status=422,
                           code="unknown_unit")

    async def test_unit_outside_callers_region_403(self, api):
        await api.rejected("/units", {"name": "县财政局", "region_code": OTHER_COUNTY}, status=403,
                           code="region_forbidden",
                           headers=api.auth(region=COUNTY, scopes=["tasks:write"]))

    async def test_read_outside_region_404(self, api):
        unit = await api.unit("县财政局", OTHER_COUNTY)
        r = await api.get(f"/units/{unit['id']}", headers=api.auth(region=COUNTY,
                                                                    scopes=["tasks:read"]))
        assert r.status_code == 404

    async def test_enums_are_published(self, api):
        r = await api.client.get("/api/v1/tasks/enums")
        assert r.json()["TaskStatus"]["verified"] == "已销号"
        assert r.json()["RectificationSource"]["funds_alert"] == "资金预警"


class TestCreateTask:
    async def test_task_with_plan_target_and_cooperating_units(self, api):
        lead, coop = await api.unit("区交通局"), await api.unit("各镇")
        leader = await api.official(lead["id"])
        plan = (await api.post("/plans", {"title": "2020 工作要点", "document_no": "区办发〔2020〕1号",
                                          "issued_on": "2020-03-01", "region_code": COUNTY},
                               status=201)).json()
        task = await api.task(lead["id"], plan_id=plan["id"], lead_official_id=leader["id"],
                              cooperating_unit_ids=[coop["id"]], due_on="2020-12-31",
                              target={"metric": "新改建农村公路", "unit": "公里", "value": 35})
        assert task["status"] == "open"
        assert task["target"]["value"] == 35
        assert task["cooperating_unit_ids"] == [coop["id"]]
        (created,) = await _events(api, "task.created")
        assert created["subject"] == task["id"]
        assert created["regioncode"] == COUNTY
        assert created["data"]["lead_official_id"] == leader["id"]
        audit = await rows(api.rt, "SELECT action FROM audit_log WHERE resource_id = :i",
                           i=task["id"])
        assert [a.action for a in audit] == ["task.create"]

    async def test_idempotency_key_replays_the_first_response(self, api):
        lead = await api.unit()
        headers = {**api.auth(), "Idempotency-Key": "task-1"}
        first = await api.post("/tasks", _body(lead["id"]), headers=headers, status=201)
        again = await api.post("/tasks", _body(lead["id"]), headers=headers, status=201)
        assert again.json() == first.json()
        assert await count(api.rt, "tasks") == 1
        await api.rejected("/tasks", _body(lead["id"], title="别的任务"), headers=headers,
                           status=422, code="idempotency_key_reused")

    async def test_township_unit_may_serve_a_village_task(self, api):
        unit = await api.unit("某镇人民政府", TOWNSHIP)
        task = await api.task(unit["id"], region_code=VILLAGE)
        assert task["region_code"] == VILLAGE

    async def test_unknown_lead_unit(self, api):
        await api.rejected("/tasks", _body("0" * 8), status=422, code="unknown_unit")

    async def test_unknown_cooperating_unit(self, api):
        lead = await api.unit()
        body = _body(lead["id"], cooperating_unit_ids=["abc"])
        problem = await api.rejected("/tasks", body, status=422, code="unknown_unit")
        assert problem["errors"][0]["field"] == "cooperating_unit_ids.0"

    async def test_unknown_official(self, api):
        lead = await api.unit()
        await api.rejected("/tasks", _body(lead["id"], lead_official_id="ab" * 4), status=422,
                           code="unknown_official")

    async def test_official_from_another_region(self, api):
        lead = await api.unit()
        stranger = await api.official((await api.unit("县财政局", OTHER_COUNTY))["id"], "李四")
        problem = await api.rejected("/tasks", _body(lead["id"], lead_official_id=stranger["id"]),
                                     status=422, code="region_mismatch")
        assert problem["errors"][0]["field"] == "lead_official_id"

    async def test_unit_from_another_region(self, api):
        foreign = await api.unit("县财政局", OTHER_COUNTY)
        await api.rejected("/tasks", _body(foreign["id"]), status=422, code="region_mismatch")

    async def test_due_before_plan_issue_date(self, api):
        lead = await api.unit()
        plan = (await api.post("/plans", {"title": "方案", "issued_on": "2021-06-01",
                                          "region_code": COUNTY}, status=201)).json()
        await api.rejected("/tasks", _body(lead["id"], plan_id=plan["id"], due_on="2021-05-31"),
                           status=422, code="due_before_issue")

    async def test_several_problems_reported_together(self, api):
        body = _body("0" * 8, lead_official_id="1" * 8)
        problem = await api.rejected("/tasks", body, status=422, code="unknown_unit")
        assert [e["code"] for e in problem["errors"]] == ["unknown_unit", "unknown_official"]

    async def test_outside_callers_region_403(self, api):
        lead = await api.unit("县财政局", OTHER_COUNTY)
        await api.rejected("/tasks", _body(lead["id"], region_code=OTHER_COUNTY), status=403,
                           code="region_forbidden",
                           headers=api.auth(region=COUNTY, scopes=["tasks:write"]))

    async def test_missing_scope_403(self, api):
        lead = await api.unit()
        await api.rejected("/tasks", _body(lead["id"]), status=403, code="missing_scope",
                           headers=api.auth(scopes=["tasks:read"]))


def _body(lead_unit_id: str, **overrides) -> dict:
    body = {"title": "任务", "region_code": COUNTY, "lead_unit_id": lead_unit_id,
            "cooperating_unit_ids": [], "due_on": "2030-12-31"}
    body.update(overrides)
    return body


class TestLifeCycle:
    async def test_open_progress_complete_verify(self, api):
        lead = await api.unit()
        task = await api.task(lead["id"], due_on="2020-06-30",
                              target={"metric": "公路", "unit": "公里", "value": 35})
        tid = task["id"]
        r = await api.post(f"/tasks/{tid}/progress", {"note": "完成路基", "value": 14,
                                                       "reported_on": "2020-04-01"}, status=201)
        got = (await api.get(f"/tasks/{tid}")).json()
        assert got["status"] == "in_progress"
        assert got["progress_ratio"] == 0.4
        assert got["overdue"] is True  # 2020-06-30 has passed
        await api.post(f"/tasks/{tid}/progress", {"note": "完成", "value": 35,
                                                  "reported_on": "2020-07-02"}, status=201)
        reports = (await api.get(f"/tasks/{tid}/progress")).json()
        assert [(x["note"], x["value"]) for x in reports] == [("完成路基", 14), ("完成", 35)]
        done = (await api.post(f"/tasks/{tid}/complete", {"evidence": "验收报告",
                                                          "completed_on": "2020-07-03"},
                               status=200)).json()
        assert done["status"] == "completed"
        assert done["days_late"] == 3
        assert done["overdue"] is False
        assert done["progress_ratio"] == 1.0
        verified = (await api.post(f"/tasks/{tid}/verify", status=200)).json()
        assert verified["status"] == "verified"
        assert verified["version"] == 5
        assert r.headers["etag"] == '"2"'
        kinds = [r.type for r in await rows(api.rt, "SELECT type FROM outbox WHERE type NOT "
                                                    "LIKE '%overdue' ORDER BY id")]
        assert kinds == ["cn.fupin.tasks.task.created",
                         "cn.fupin.tasks.task.progress_reported",
                         "cn.fupin.tasks.task.progress_reported",
                         "cn.fupin.tasks.task.completed", "cn.fupin.tasks.task.verified"]

    async def test_complete_cancelled_task_422(self, api):
        task = await api.task((await api.unit())["id"])
        await api.post(f"/tasks/{task['id']}/cancel", {"reason": "合并到其他任务"}, status=200)
        await api.rejected(f"/tasks/{task['id']}/complete", {"evidence": "材料"}, status=422,
                           code="task_cancelled")

    async def test_verify_incomplete_task_422(self, api):
        task = await api.task((await api.unit())["id"])
        await api.rejected(f"/tasks/{task['id']}/verify", None, status=422,
                           code="task_not_completed")

    async def test_complete_without_evidence_422(self, api):
        task = await api.task((await api.unit())["id"])
        await api.rejected(f"/tasks/{task['id']}/complete", {"evidence": "  "}, status=422,
                           code="evidence_required")

    async def test_progress_on_completed_task_422(self, api):
        task = await api.task((await api.unit())["id"])
        await api.post(f"/tasks/{task['id']}/complete", {"evidence": "材料"}, status=200)
        await api.rejected(f"/tasks/{task['id']}/progress",
                           {"note": "x", "reported_on": "2020-01-01"}, status=422,
                           code="task_closed")

    async def test_stale_if_match_412(self, api):
        task = await api.task((await api.unit())["id"])
        before = await api.snapshot()
        r = await api.post(f"/tasks/{task['id']}/complete", {"evidence": "材料"},
                           headers={**api.auth(), "If-Match": '"7"'})
        assert r.status_code == 412
        assert await api.snapshot() == before

    async def test_task_outside_region_is_404(self, api):
        task = await api.task((await api.unit())["id"])
        other = api.auth(region=OTHER_COUNTY)
        assert (await api.get(f"/tasks/{task['id']}", headers=other)).status_code == 404
        r = await api.post(f"/tasks/{task['id']}/complete", {"evidence": "x"}, headers=other)
        assert r.status_code == 404


class TestSearch:
    async def test_filters(self, api):
        lead, coop = await api.unit("区交通局"), await api.unit("区财政局")
        late = await api.task(lead["id"], due_on="2020-01-01")
        later = await api.task(coop["id"], due_on="2099-01-01", cooperating_unit_ids=[lead["id"]])
        done = await api.task(lead["id"], due_on="2020-01-01")
        await api.post(f"/tasks/{done['id']}/complete", {"evidence": "x"}, status=200)

        async def ids(**params):
            r = await api.get("/tasks", params=params)
            assert r.status_code == 200, r.text
            return [t["id"] for t in r.json()["items"]]

        assert await ids(overdue="true") == [late["id"]]
        assert await ids(overdue="false") == [later["id"], done["id"]]
        assert await ids(unit_id=lead["id"]) == [late["id"], later["id"], done["id"]]
        assert await ids(unit_id=coop["id"]) == [later["id"]]
        assert await ids(status="completed") == [done["id"]]
        assert await ids(region=OTHER_COUNTY) == []
        page = await api.get("/tasks", params={"limit": 2})
        second = await api.get("/tasks", params={"limit": 2,
                                                 "cursor": page.json()["next_cursor"]})
        assert [t["id"] for t in second.json()["items"]] == [done["id"]]
