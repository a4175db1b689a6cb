"""Export of a household search as the import spreadsheet, and the import template."""

import csv
import io

import pytest
from openpyxl import load_workbook

from tests.support.db import count
from tests.support.factories import OTHER_COUNTY_VILLAGE, region_tree
from tests.support.p3b_imports import ZH, csv_file, household_rows, upload

API = "/api/v1/registry"


@pytest.fixture
async def registry(platform):
    await platform.start("registry")
    client = platform.client("registry")
    await region_tree(client, platform.auth())
    await region_tree(client, platform.auth(), OTHER_COUNTY_VILLAGE)
    return platform


async def _imported(p, data: list[dict]) -> None:
    r = await upload(p.client("registry"), p.auth(), csv_file(data))
    assert r.status_code == 201, r.text


def _csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


class TestExport:
    async def test_csv_masks_id_numbers_without_pii_read(self, registry):
        data = household_rows(size=3)
        await _imported(registry, data)
        r = await registry.client("registry").get(
            f"{API}/exports/households", headers=registry.auth(scopes=["registry:read"]))
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/csv")
        table = _csv_rows(r.content)
        assert table[0] == ZH
        assert len(table) == 4
        numbers = [d["身份证号"] for d in data]
        assert sorted(t[2] for t in table[1:]) == sorted(n[:6] + "********" + n[-4:]
                                                          for n in numbers)
        assert all(n not in r.text for n in numbers)
        assert table[1][3] == "户主"
        assert table[1][7:] == ["因病", "缺技术", "一般贫困户", "2016", data[0]["所在村代码"], "未脱贫"]

    async def test_pii_read_reveals_and_the_file_imports_again(self, registry):
        data = household_rows(size=2) + household_rows(size=1)
        await _imported(registry, data)
        client = registry.client("registry")
        r = await client.get(f"{API}/exports/households",
                             headers=registry.auth(scopes=["registry:read", "pii:read"]))
        table = _csv_rows(r.content)
        assert sorted(t[2] for t in table[1:]) == sorted(d["身份证号"] for d in data)
        again = await upload(client, registry.auth(), r.content, mode="partial")
        assert again.json()["already_imported"] == 2
        assert again.json()["errors"] == []

    async def test_region_scope_and_filters(self, registry):
        await _imported(registry, household_rows(size=2) + household_rows(
            OTHER_COUNTY_VILLAGE, size=1, 贫困户属性="低保贫困户", 致贫原因="因残"))
        client = registry.client("registry")
        county = registry.auth(scopes=["registry:read"], region="430903")
        r = await client.get(f"{API}/exports/households", headers=county)
        assert [t[11] for t in _csv_rows(r.content)[1:]] == [OTHER_COUNTY_VILLAGE]
        r = await client.get(f"{API}/exports/households", params={"region": "430902"},
                             headers=county)
        assert r.status_code == 403
        admin = registry.auth()
        for params, expected in [({"attribute": "dibao"}, 1), ({"cause": "illness"}, 2),
                                 ({"status": "exited"}, 0), ({"region": "430902"}, 2)]:
            r = await client.get(f"{API}/exports/households", params=params, headers=admin)
            assert len(_csv_rows(r.content)) - 1 == expected, params

    async def test_xlsx_and_many_pages(self, registry):
        data = [r for _ in range(1100) for r in household_rows(size=1)]
        await _imported(registry, data)
        r = await registry.client("registry").get(
            f"{API}/exports/households", params={"format": "xlsx"}, headers=registry.auth())
        assert r.status_code == 200
        sheet = load_workbook(io.BytesIO(r.content), read_only=True).worksheets[0]
        values = list(sheet.iter_rows(values_only=True))
        assert list(values[0]) == ZH
        assert len(values) == 1101

    async def test_export_is_audited(self, registry):
        r = await registry.client("registry").get(f"{API}/exports/households",
                                                  headers=registry.auth(sub="auditor"))
        assert r.status_code == 200
        assert await count(registry.runtime("registry"), "audit_log",
                           "WHERE action = 'household.export' AND actor = 'auditor'") == 1

    async def test_needs_read_scope(self, registry):
        r = await registry.client("registry").get(f"{API}/exports/households",
                                                  headers=registry.auth(scopes=["funds:read"]))
        assert r.status_code == 403


class TestTemplate:
    async def test_template_has_headers_example_and_allowed_values(self, registry):
        client = registry.client("registry")
        r = await client.get(f"{API}/imports/template.xlsx", headers=registry.auth())
        assert r.status_code == 200
        workbook = load_workbook(io.BytesIO(r.content))
        sheet = workbook.worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
        assert list(rows[0]) == ZH
        assert len(rows) == 2
        allowed = list(workbook["允许取值"].iter_rows(values_only=True))
        assert ("贫困户属性", "dibao", "低保贫困户", "04") in allowed
        assert ("与户主关系", "head", "户主", None) in allowed

    async def test_the_example_row_imports(self, registry):
        client = registry.client("registry")
        template = (await client.get(f"{API}/imports/template.xlsx",
                                     headers=registry.auth())).content
        r = await upload(client, registry.auth(), template, name="template.xlsx")
        assert r.status_code == 201, r.text
        assert r.json()["imported"] == 1
