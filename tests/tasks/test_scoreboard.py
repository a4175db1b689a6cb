"""考核 scoreboard per lead unit: totals, completed, verified, overdue, rate, days late; XLSX."""

import io

from openpyxl import load_workbook

from tests.tasks.helpers import COUNTY, OTHER_COUNTY, VILLAGE


async def _seed(api):
    roads, health = await api.unit("区交通局"), await api.unit("区卫健局")
    late_done = await api.task(roads["id"], due_on="2020-06-30")
    await api.post(f"/tasks/{late_done['id']}/complete",
                   {"evidence": "验收", "completed_on": "2020-07-10"}, status=200)
    on_time = await api.task(roads["id"], due_on="2020-06-30")
    await api.post(f"/tasks/{on_time['id']}/complete",
                   {"evidence": "验收", "completed_on": "2020-06-30"}, status=200)
    await api.post(f"/tasks/{on_time['id']}/verify", status=200)
    await api.task(roads["id"], due_on="2020-01-01")  # overdue, still open
    await api.task(roads["id"], due_on="2099-01-01", region_code=VILLAGE)
    dropped = await api.task(roads["id"], due_on="2020-01-01")
    await api.post(f"/tasks/{dropped['id']}/cancel", {"reason": "重复"}, status=200)
    await api.task(health["id"], due_on="2099-01-01")
    elsewhere = await api.unit("别县交通局", OTHER_COUNTY)
    await api.task(elsewhere["id"], region_code=OTHER_COUNTY)
    return roads, health


async def test_scoreboard(api):
    roads, health = await _seed(api)
    r = await api.get("/scoreboard", params={"region": COUNTY})
    assert r.status_code == 200, r.text
    board = {row["unit_id"]: row for row in r.json()["items"]}
    assert set(board) == {roads["id"], health["id"]}
    assert board[roads["id"]] | {"unit_id": None} == {
        "unit_id": None, "unit_name": "区交通局", "region_code": COUNTY, "total": 4,
        "completed": 2, "verified": 1, "overdue": 1, "completion_rate": 0.5,
        "average_days_late": 5.0}
    assert board[health["id"]]["average_days_late"] is None
    assert board[health["id"]]["completion_rate"] == 0.0
    assert r.json()["totals"] == {"total": 5, "completed": 2, "verified": 1, "overdue": 1,
                                  "completion_rate": 0.4, "average_days_late": 5.0}
    village = await api.get("/scoreboard", params={"region": VILLAGE})
    assert [(row["unit_name"], row["total"]) for row in village.json()["items"]] == [
        ("区交通局", 1)]


async def test_scoreboard_is_bounded_by_the_callers_region(api):
    await _seed(api)
    r = await api.get("/scoreboard", headers=api.auth(region=OTHER_COUNTY,
                                                      scopes=["tasks:read"]))
    assert [row["unit_name"] for row in r.json()["items"]] == ["别县交通局"]
    forbidden = await api.get("/scoreboard", params={"region": COUNTY},
                              headers=api.auth(region=OTHER_COUNTY, scopes=["tasks:read"]))
    assert forbidden.status_code == 403


async def test_xlsx_export(api):
    await _seed(api)
    r = await api.get("/scoreboard", params={"region": COUNTY, "format": "xlsx"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(r.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[1][:4] == ("单位ID", "单位", "区划代码", "任务总数")
    by_name = {row[1]: row for row in values[2:]}
    assert by_name["区交通局"][3:9] == (4, 2, 1, 1, 0.5, 5.0)
    assert by_name["合计"][3:9] == (5, 2, 1, 1, 0.4, 5.0)
