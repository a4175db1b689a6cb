"""Export of a household search as the import spreadsheet, and the import template."""

from __future__ import annotations

import datetime as dt
import io

import sqlalchemy as sa

from services.registry.db.tables import Household, Member
from services.registry.domain.tabular import BY_KEY, COLUMNS, HEADERS, allowed_values, label_of
from shared.idnumber import check_digit, mask_id_number
from shared.tx import Tx

PAGE = 1000


async def export_page(tx: Tx, *, within: str, status: str | None, cause: str | None,
                      attribute: str | None, after: str | None,
                      limit: int = PAGE) -> list[tuple[Household, list[Member]]]:
    """One page of matching households (keyset on id) with their current members."""
    query = sa.select(Household).where(Household.region_code.startswith(within))
    if status:
        query = query.where(Household.status == status)
    if cause:
        query = query.where(Household.primary_cause == cause)
    if attribute:
        query = query.where(Household.attribute == attribute)
    if after:
        query = query.where(Household.id > after)
    found = list((await tx.session.execute(query.order_by(Household.id).limit(limit)))
                 .scalars().all())
    if not found:
        return []
    members = (await tx.session.execute(
        sa.select(Member).where(Member.household_id.in_([h.id for h in found]),
                                Member.removed_on.is_(None))
        .order_by(Member.household_id, Member.created_at, Member.id))).scalars().all()
    by_household: dict[str, list[Member]] = {h.id: [] for h in found}
    for member in members:
        by_household[member.household_id].append(member)
    return [(h, _head_first(by_household[h.id])) for h in found]


def _head_first(members: list[Member]) -> list[Member]:
    return sorted(members, key=lambda m: m.relation != "head")


def export_rows(tx: Tx, page: list[tuple[Household, list[Member]]], *,
                reveal: bool) -> list[list[str]]:
    """Spreadsheet rows in the import's column order; ID numbers masked unless `reveal`."""
    rows = []
    for household, members in page:
        shared = [
            label_of(BY_KEY["primary_cause"], household.primary_cause),
            "、".join(label_of(BY_KEY["secondary_causes"], c) for c in household.secondary_causes),
            label_of(BY_KEY["attribute"], household.attribute), str(household.identified_year),
            household.region_code, label_of(BY_KEY["status"], household.status),
        ]
        for m in members:
            number = tx.cipher.decrypt(m.id_cipher)
            rows.append([
                household.household_no, m.name, number if reveal else mask_id_number(number),
                label_of(BY_KEY["relation"], m.relation),
                label_of(BY_KEY["labor_ability"], m.labor_ability),
                label_of(BY_KEY["health"], m.health), label_of(BY_KEY["schooling"], m.schooling),
                *shared,
            ])
    return rows


def example_id_number() -> str:
    """A synthetic ID number with a valid check digit for the template's example row."""
    first17 = "43090219800517001"
    return first17 + check_digit(first17)


def template_xlsx() -> bytes:
    """The import template: headers and one example row, then a sheet of allowed values."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "贫困户成员"
    sheet.append(HEADERS)
    example = {c.key: c.example for c in COLUMNS} | {"id_number": example_id_number()}
    sheet.append([example[c.key] for c in COLUMNS])
    for position, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=position)
        cell.font = Font(bold=True)
        sheet.column_dimensions[cell.column_letter].width = max(12, len(column.header) * 3)
        sheet.cell(row=2, column=position).number_format = "@"  # text: keeps long numbers
    values = workbook.create_sheet("允许取值")
    values.append(["列 column", "取值 code", "中文 label", "国家系统代码 national code"])
    for column in COLUMNS:
        if column.enum is not None:
            for code, label, national in allowed_values(column):
                values.append([column.header, code, label, national])
    notes = workbook.create_sheet("说明")
    notes.append(["列 column", "英文列名 English header", "必填 required", "说明 note"])
    for column in COLUMNS:
        notes.append([column.header, column.key, "是" if column.required else "否", column.note])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_file_name(kind: str) -> str:
    return f"households-{dt.date.today():%Y%m%d}.{kind}"
