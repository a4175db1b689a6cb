"""POST /plans/import and `fupin import plan`: plan, units, named leaders and tasks stored."""

import asyncio
import json
import textwrap
from pathlib import Path

from shared.cli import main as fupin
from tests.support.db import count, rows
from tests.tasks.helpers import API, COUNTY
from tests.tasks.test_plan_import import SEED_000, SEED_000_TASKS


async def _import(api, text: str, *, status: int = 201, **params):
    r = await api.client.post(f"{API}/plans/import", content=text.encode(),
                              params={"region_code": COUNTY, **params},
                              headers={**api.auth(), "Content-Type": "text/plain"})
    assert r.status_code == status, r.text
    return r.json()


async def _names(api, table: str) -> set[str]:
    return {r.name for r in await rows(api.rt, f"SELECT name FROM {table}")}


async def test_seed_000_yields_its_fourteen_tasks(api):
    body = await _import(api, SEED_000.read_text(encoding="utf-8"), issued_on="2019-09-30")
    plan = body["plan"]
    assert plan["title"] == "全面巩固提升脱贫成果实施方案"
    assert plan["document_no"] == "大扶办发〔2019〕23号"
    assert plan["issued_on"] == "2019-09-30"
    assert len(body["tasks"]) == 14
    assert body["unplaced"] == []
    for got, expected in zip(body["tasks"], SEED_000_TASKS, strict=True):
        number, section, fragment, officials, leads, cooperating, line = expected
        assert (got["number"], got["section"], got["line"]) == (number, section, line)
        assert fragment in got["title"]
        assert got["lead_unit"] == leads[0]
        assert got["cooperating_units"] == leads[1:] + cooperating
        assert got["lead_official"] == (officials[0] if officials else None)
        assert got["due_on"] == "2019-12-31"  # no 完成时限: the end of the issue year
    assert set(body["officials_created"]) == {"周军", "熊志元", "梁学军", "孙功伟"}
    assert {"区扶贫办", "区公路建设养护中心", "各镇"} <= await _names(api, "units")
    assert await count(api.rt, "tasks") == 14
    assert await count(api.rt, "outbox", "WHERE type = 'cn.fupin.tasks.task.created'") == 14
    stored = await rows(api.rt, "SELECT t.title, u.name AS lead, o.name AS official FROM tasks t "
                                "JOIN units u ON u.id = t.lead_unit_id "
                                "LEFT JOIN officials o ON o.id = t.lead_official_id ORDER BY t.id")
    assert (stored[2].lead, stored[2].official) == ("区民政和人力资源社会保障局", "熊志元")
    assert stored[13].official is None


async def test_reimport_reuses_units_and_officials(api):
    text = SEED_000.read_text(encoding="utf-8")
    await _import(api, text, issued_on="2019-09-30")
    units, officials = await count(api.rt, "units"), await count(api.rt, "officials")
    again = await _import(api, text, issued_on="2019-09-30", document_no="大扶办发〔2019〕24号")
    assert again["units_created"] == []
    assert again["officials_created"] == []
    assert again["plan"]["document_no"] == "大扶办发〔2019〕24号"
    assert (await count(api.rt, "units"), await count(api.rt, "officials")) == (units, officials)
    assert await count(api.rt, "plans") == 2


INLINE = "\n".join([
    "某县2020年脱贫攻坚工作要点",
    "一、基础设施",
    "1. 新改建农村公路35公里。牵头领导：分管副县长 牵头单位：县交通运输局；"
    "责任单位：县财政局，各乡镇 完成时限：2020年10月底",
    "2. 新增变压器38台（责任单位：县供电公司、县发改局，完成时限：2020年6月30日）",
    "二、就业扶贫",
    "（一）开展2场就业招聘会（县人社局牵头，县扶贫办配合）",
    "",
])


async def test_other_layouts_titles_and_due_dates(api):
    body = await _import(api, INLINE, issued_on="2020-01-15")
    assert len(body["tasks"]) == 3
    assert body["unplaced"] == []
    road = next(t for t in body["tasks"] if "公路" in t["title"])
    assert road["lead_unit"] == "县交通运输局"
    assert road["cooperating_units"] == ["县财政局", "各乡镇"]
    assert road["due_on"] == "2020-10-31"
    assert road["lead_official"] is None
    assert road["lead_official_titles"] == ["分管副县长"]  # a post, not a person: no official
    power = next(t for t in body["tasks"] if "变压器" in t["title"])
    assert (power["lead_unit"], power["cooperating_units"]) == ("县供电公司", ["县发改局"])
    assert power["due_on"] == "2020-06-30"
    fair = next(t for t in body["tasks"] if "招聘会" in t["title"])
    assert (fair["lead_unit"], fair["cooperating_units"]) == ("县人社局", ["县扶贫办"])
    assert body["officials_created"] == []
    assert await count(api.rt, "officials") == 0
    description = await rows(api.rt, "SELECT description FROM tasks WHERE id = :i",
                             i=road["task_id"])
    assert "分管副县长" in description[0].description


async def test_what_cannot_be_placed_is_reported(api):
    text = textwrap.dedent("""\
        一、重点任务
        1. 完善村级公路养护。
        牵头单位：县交通运输局
        完成时限：2019年6月
        2. 落实健康扶贫政策。
        牵头领导：周军
        3. 开展危房改造。
        责任单位：县住建局
        二、保障措施
        配合单位：县财政局
        """)
    body = await _import(api, text, issued_on="2020-01-01")
    assert [t["title"] for t in body["tasks"]] == ["开展危房改造"]
    assert await count(api.rt, "tasks") == 1
    assert await count(api.rt, "plans") == 1
    reasons = {u["reason"] for u in body["unplaced"]}
    assert "due_before_issue" in reasons  # due 2019-06-30, plan issued 2020-01-01
    assert "task_without_lead" in reasons


async def test_document_without_tasks_422_nothing_stored(api):
    await _no_tasks(api, "关于做好脱贫攻坚工作的通知\n各乡镇要高度重视，认真落实。\n"
                         "一、提高认识\n二、加强领导\n")
    # a task whose only due date lies before the issue date leaves nothing to import either
    await _no_tasks(api, "一、任务\n1. 修路。牵头单位：县交通局 完成时限：2019年5月\n")


async def _no_tasks(api, text: str) -> None:
    problem = await api.client.post(f"{API}/plans/import", content=text.encode(),
                                    params={"region_code": COUNTY},
                                    headers={**api.auth(), "Content-Type": "text/plain"})
    assert problem.status_code == 422
    assert problem.json()["errors"][0]["code"] == "no_tasks_found"
    for table in ("plans", "units", "officials", "tasks", "outbox", "audit_log"):
        assert await count(api.rt, table) == 0


async def test_import_outside_callers_region_403(api):
    r = await api.client.post(f"{API}/plans/import", content=INLINE.encode(),
                              params={"region_code": "430903"},
                              headers={**api.auth(region=COUNTY), "Content-Type": "text/plain"})
    assert r.status_code == 403
    assert await count(api.rt, "plans") == 0


async def test_cli_imports_into_the_configured_database(platform, monkeypatch, tmp_path, capsys):
    await platform.start("tasks")
    settings = await platform.settings()
    env = {"FUPIN_TASKS_DATABASE_URL": platform.database_urls["tasks"],
           "FUPIN_DATA_DIR": str(tmp_path), "FUPIN_TOPIC_PREFIX": platform.prefix,
           "FUPIN_BUS": settings.bus, "FUPIN_KAFKA_BOOTSTRAP": settings.kafka_bootstrap}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    document = Path(tmp_path / "plan.txt")
    document.write_text(SEED_000.read_text(encoding="utf-8"), encoding="utf-8")
    code = await asyncio.to_thread(fupin, ["import", "plan", str(document), "--region", COUNTY,
                                           "--issued-on", "2019-09-30"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["tasks"] == 14
    assert summary["document_no"] == "大扶办发〔2019〕23号"
    rt = platform.runtime("tasks")
    assert await count(rt, "tasks") == 14
    assert await count(rt, "outbox", "WHERE published_at IS NULL") == 0
    empty = tmp_path / "empty.txt"
    empty.write_text("没有任务的文件\n", encoding="utf-8")
    assert await asyncio.to_thread(fupin, ["import", "plan", str(empty), "--region", COUNTY]) == 1
    assert await count(rt, "plans") == 1
