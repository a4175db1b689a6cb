"""Render the public notice (公告公示) as JSON, CSV or XLSX."""

from __future__ import annotations

import csv
import io

from fastapi import Response
from fastapi.responses import JSONResponse
from openpyxl import Workbook

PROJECT_COLUMNS = [
    ("name", "项目名称"), ("region_code", "实施地点（区划代码）"), ("category", "项目类别"),
    ("content", "建设内容"), ("planned_start", "计划开工"), ("planned_end", "计划完工"),
    ("implementing_unit", "实施单位"), ("budget", "项目预算（元）"),
    ("allocated", "已安排资金（元）"), ("disbursed", "已支出（元）"), ("targets", "绩效目标"),
    ("beneficiary_count", "受益户数"), ("sources", "资金来源（文号:金额）"),
]
FUND_COLUMNS = [
    ("name", "资金名称"), ("document_no", "指标文件文号"), ("level", "资金级次"),
    ("kind", "资金类别"), ("nature", "资金性质"), ("expenditure_class", "支出功能分类科目"),
    ("region_code", "区划代码"), ("amount", "资金总额（元）"), ("allocated", "已分配（元）"),
    ("disbursed", "已支出（元）"), ("uses", "资金用途（类别:金额）"),
]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cell(key: str, row: dict) -> object:
    value = row.get(key)
    if key == "sources":
        return "; ".join(f"{s['document_no']}:{s['amount']}" for s in value or [])
    if key == "uses":
        return "; ".join(f"{u['category']}:{u['allocated']}" for u in value or [])
    return "" if value is None else value


def _table(data: dict, section: str) -> tuple[list[str], list[list[object]]]:
    columns = PROJECT_COLUMNS if section == "projects" else FUND_COLUMNS
    rows = [[_cell(k, r) for k, _ in columns] for r in data[section]]
    return [label for _, label in columns], rows


def render(data: dict, *, format: str, section: str) -> Response:
    name = f"gongshi_{data['region'] or 'all'}_{data['fiscal_year']}"
    if format == "json":
        return JSONResponse(data)
    if format == "csv":
        header, rows = _table(data, section)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        writer.writerows(rows)
        # A BOM so spreadsheet programs read the Chinese headers as UTF-8.
        return Response("\ufeff" + buffer.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition":
                                 f'attachment; filename="{name}_{section}.csv"'})
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "项目公示"
    for index, part in enumerate(("projects", "funds")):
        if index:
            sheet = workbook.create_sheet("资金公示")
        header, rows = _table(data, part)
        sheet.append(header)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return Response(out.getvalue(), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})


