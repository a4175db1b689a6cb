"""Bulk import of households: formats, encodings, events, audit and resumable partial mode."""

import json

import pytest

from shared.events.envelope import CloudEvent
from tests.support.db import count, rows
from tests.support.factories import OTHER_COUNTY_VILLAGE, VILLAGE, household, region_tree
from tests.support.p3b_imports import (
    EN,
    csv_file,
    household_no,
    household_rows,
    row,
    upload,
    xlsx_file,
)


@pytest.fixture
async def registry(platform):
    await platform.start("registry")
    client = platform.client("registry")
    await region_tree(client, platform.auth())
    await region_tree(client, platform.auth(), OTHER_COUNTY_VILLAGE)
    return platform


class TestImport:
    async def test_csv_with_chinese_headers_stores_publishes_and_audits(self, registry):
        client, rt = registry.client("registry"), registry.runtime("registry")
        data = household_rows(size=3) + household_rows(size=1) + household_rows(size=2)
        r = await upload(client, registry.auth(sub="clerk"), csv_file(data))
        assert r.status_code == 201, r.text
        body = r.json()
        assert (body["imported"], body["rejected"], body["people"]) == (3, 0, 6)
        assert body["errors"] == []
        assert body["already_imported"] == 0
        assert await count(rt, "households") == 3
        assert await count(rt, "members") == 6
        stored = await rows(rt, "SELECT household_no, status, attribute, primary_cause, "
                                "identified_year FROM households ORDER BY household_no")
        assert [s.household_no for s in stored] == sorted({d["户编号"] for d in data})
        assert {(s.status, s.attribute, s.primary_cause, s.identified_year) for s in stored} == {
            ("poor", "general", "illness", 2016)}
        ciphers = await rows(rt, "SELECT id_cipher FROM members")
        assert all(d["身份证号"] not in c.id_cipher for d in data for c in ciphers)

        events = await rows(rt, "SELECT type, key, payload FROM outbox ORDER BY id")
        household_events = [e for e in events if "household" in e.type]
        assert {e.type for e in household_events} == {"cn.fupin.registry.household.registered"}
        assert len(household_events) == 3
        for e in household_events:
            event = CloudEvent.from_bytes(e.payload.encode())
            payload = event.payload()
            assert event.subject == e.key == payload.household_id
            assert event.regioncode == VILLAGE
            assert payload.secondary_causes == ["lack_skills"]
            assert all(d["身份证号"] not in e.payload and "王建国" not in e.payload for d in data)
        sizes = sorted(len(json.loads(e.payload)["data"]["members"]) for e in household_events)
        assert sizes == [1, 2, 3]

        audit = await rows(rt, "SELECT actor, action, resource_type, after FROM audit_log "
                               "WHERE action LIKE 'household.import%'")
        assert sorted(a.action for a in audit) == ["household.import"] * 3 + [
            "household.import_file"]
        assert {a.actor for a in audit} == {"clerk"}
        summary = next(a for a in audit if a.action == "household.import_file")
        after = summary.after if isinstance(summary.after, dict) else json.loads(summary.after)
        assert after["file_name"] == "households.csv"
        assert after["imported"] == 3
        assert all(d["身份证号"] not in json.dumps(a.after, default=str) for d in data
                   for a in audit)

    async def test_english_headers_national_codes_and_gb18030(self, registry):
        client, rt = registry.client("registry"), registry.runtime("registry")
        number = household_no()
        data = [row(number, "01"), row(number, "配偶")]
        data[0].update(贫困户属性="04", 脱贫状态="1", 与户主关系="head")
        data[1].update(贫困户属性="", 脱贫状态="", 致贫原因="", 识别年度="", 所在村代码="",
                       次要致贫原因="")
        english = [dict(zip(EN, d.values(), strict=True)) for d in data]
        r = await upload(client, registry.auth(), csv_file(english, headers=EN,
                                                           encoding="gb18030"))
        assert r.status_code == 201, r.text
        stored = await rows(rt, "SELECT status, attribute FROM households")
        assert [(s.status, s.attribute) for s in stored] == [("exited", "dibao")]
        names = await rows(rt, "SELECT name FROM members ORDER BY name")
        assert [n.name for n in names] == ["王建国", "王建国"]

    async def test_gb18030_with_chinese_headers(self, registry):
        client, rt = registry.client("registry"), registry.runtime("registry")
        data = household_rows(size=2, 姓名="欧阳娜")
        r = await upload(client, registry.auth(), csv_file(data, encoding="gb18030"))
        assert r.status_code == 201, r.text
        assert [n.name for n in await rows(rt, "SELECT name FROM members")] == ["欧阳娜"] * 2

    async def test_utf8_bom(self, registry):
        client, rt = registry.client("registry"), registry.runtime("registry")
        r = await upload(client, registry.auth(), csv_file(household_rows(),
                                                           encoding="utf-8-sig"))
        assert r.status_code == 201, r.text
        assert await count(rt, "households") == 1

    async def test_xlsx(self, registry):
        client, rt = registry.client("registry"), registry.runtime("registry")
        data = household_rows(size=3) + household_rows(size=2)
        r = await upload(client, registry.auth(), xlsx_file(data), name="户表.xlsx",
                         ctype="application/octet-stream")
        assert r.status_code == 201, r.text
        assert r.json()["imported"] == 2
        assert await count(rt, "members") == 5

    async def test_later_registration_continues_the_village_sequence(self, registry):
        client = registry.client("registry")
        data = [row(f"{VILLAGE}00041")]
        assert (await upload(client, registry.auth(), csv_file(data))).status_code == 201
        r = await client.post("/api/v1/registry/households", json=household(),
                              headers=registry.auth())
        assert r.status_code == 201, r.text
        assert r.json()["household_no"] == f"{VILLAGE}00042"


class TestPartial:
    async def test_only_good_households_stored_and_published(self, registry):
        client, rt = registry.client("registry"), registry.runtime("registry")
        good = household_rows(size=2)
        bad = household_rows(size=2)
        bad[1]["身份证号"] = bad[1]["身份证号"][:17] + ("0" if bad[1]["身份证号"][17] != "0" else "1")
        also_good = household_rows(size=1)
        r = await upload(client, registry.auth(), csv_file(good + bad + also_good),
                         mode="partial")
        assert r.status_code == 201, r.text
        body = r.json()
        assert (body["imported"], body["rejected"]) == (2, 1)
        assert body["errors"] == [{"row": 5, "code": "invalid_id_number", "field": "身份证号",
                                   "detail": body["errors"][0]["detail"]}]
        stored = {s.household_no for s in await rows(rt, "SELECT household_no FROM households")}
        assert stored == {good[0]["户编号"], also_good[0]["户编号"]}
        events = await rows(rt, "SELECT key FROM outbox WHERE type LIKE '%household.registered'")
        ids = {i.id for i in await rows(rt, "SELECT id FROM households")}
        assert {e.key for e in events} == ids

    async def test_rerun_skips_households_already_imported(self, registry):
        client, rt = registry.client("registry"), registry.runtime("registry")
        content = csv_file(household_rows(size=2) + household_rows(size=3))
        first = await upload(client, registry.auth(), content, mode="partial")
        assert first.json()["imported"] == 2
        again = await upload(client, registry.auth(), content, mode="partial")
        assert again.status_code == 200, again.text
        assert (again.json()["imported"], again.json()["already_imported"]) == (0, 2)
        assert again.json()["errors"] == []
        assert await count(rt, "households") == 2
        assert await count(rt, "members") == 5
        assert await count(rt, "outbox", "WHERE type LIKE '%household.registered'") == 2

    async def test_small_batches_commit_separately(self, registry):
        from services.registry.api.imports import batch_unit
        from services.registry.domain import imports
        from services.registry.domain.tabular_io import open_table

        rt = registry.runtime("registry")
        data = [r for _ in range(5) for r in household_rows(size=2)]
        import io

        seen = []
        report = await imports.import_households(
            lambda: batch_unit(rt, "tester"), table=open_table(io.BytesIO(csv_file(data))),
            mode="partial", file_name="x.csv", cipher=rt.cipher, batch_households=2,
            on_progress=lambda rep: seen.append(rep.imported))
        assert seen == [2, 4, 5]
        assert report.people == 10
        assert await count(rt, "households") == 5


class TestSheetLayout:
    async def test_title_row_above_the_header_and_sheet_row_numbers(self, registry):
        from openpyxl import Workbook

        from tests.support.p3b_imports import ZH

        data = household_rows(size=2) + household_rows(size=1)
        data[2]["健康状况"] = "很好"
        workbook = Workbook()
        sheet = workbook.active
        sheet.append(["某某县建档立卡贫困户花名册"])
        sheet.append(ZH + ["联系电话"])
        for r in data:
            sheet.append([r[h] for h in ZH] + ["13800000000"])
        import io

        buffer = io.BytesIO()
        workbook.save(buffer)
        client, rt = registry.client("registry"), registry.runtime("registry")
        r = await upload(client, registry.auth(), buffer.getvalue(), name="花名册.xlsx")
        assert r.status_code == 422
        assert [(e["row"], e["code"], e["field"]) for e in r.json()["errors"]] == [
            (5, "invalid_enum", "健康状况")]
        assert await count(rt, "households") == 0
        partial = await upload(client, registry.auth(), buffer.getvalue(), name="花名册.xlsx",
                               mode="partial")
        assert (partial.json()["imported"], partial.json()["rejected"]) == (1, 1)
