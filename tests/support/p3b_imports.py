"""Helpers for the household import and export tests: member rows and spreadsheet files."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from shared.idnumber import check_digit
from tests.support.factories import VILLAGE

ZH = ["户编号", "姓名", "身份证号", "与户主关系", "劳动能力", "健康状况", "在校生状况", "致贫原因",
      "次要致贫原因", "贫困户属性", "识别年度", "所在村代码", "脱贫状态"]
EN = ["household_no", "name", "id_number", "relation", "labor_ability", "health", "schooling",
      "primary_cause", "secondary_causes", "attribute", "identified_year", "village_code",
      "status"]
_counter = iter(range(1, 10**6))
_people = iter(range(10**7))


def id_number(region: str = "430902") -> str:
    """A valid synthetic ID number, unique within the test run (tens of thousands of them)."""
    n = next(_people)
    born = dt.date(1940, 1, 1) + dt.timedelta(days=n // 400)
    first17 = f"{region}{born:%Y%m%d}{100 + n % 400:03d}"
    return first17 + check_digit(first17)


def household_no(village: str = VILLAGE) -> str:
    return f"{village}{next(_counter):05d}"


def row(number: str, relation: str = "户主", *, village: str = VILLAGE,
        **overrides: Any) -> dict[str, str]:
    """One member row with Chinese headers; household columns filled on every row."""
    values = {
        "户编号": number, "姓名": "王建国", "身份证号": id_number(), "与户主关系": relation,
        "劳动能力": "普通劳动力", "健康状况": "健康", "在校生状况": "非在校生", "致贫原因": "因病",
        "次要致贫原因": "缺技术", "贫困户属性": "一般贫困户", "识别年度": "2016",
        "所在村代码": village, "脱贫状态": "未脱贫",
    }
    values.update(overrides)
    return values


def household_rows(village: str = VILLAGE, size: int = 2, **overrides: Any) -> list[dict]:
    number = household_no(village)
    relations = ["户主", "配偶", "之子", "之女", "之母"]
    return [row(number, relations[i], village=village, **overrides) for i in range(size)]


def csv_file(rows: list[dict], *, headers: list[str] = ZH, encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    for r in rows:
        writer.writerow([r.get(h, "") for h in headers])
    return buffer.getvalue().encode(encoding)


def xlsx_file(rows: list[dict], *, headers: list[str] = ZH) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for r in rows:
        sheet.append([r.get(h, "") for h in headers])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def birth(year: int) -> dt.date:
    return dt.date(year, 3, 9)


async def upload(client, headers: dict, content: bytes, *, name: str = "households.csv",
                 mode: str | None = None, ctype: str = "text/csv"):
    params = {"mode": mode} if mode else {}
    return await client.post("/api/v1/registry/imports/households", params=params,
                             headers=headers, files={"file": (name, content, ctype)})
