"""Household import, first stage: each spreadsheet row checked on its own, then rows grouped
into households (by 户编号) and checked together. Pure functions, no I/O."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from services.registry.domain.tabular import BY_KEY, COLUMNS, SEPARATORS, Column, clean, code_of
from shared.idnumber import InvalidIdNumber, parse_id_number
from shared.regions import is_region_code

MAX_MEMBERS = 30
_HOUSEHOLD_NO = re.compile(r"^[0-9A-Za-z_-]{1,40}$")
_ID_REASONS = {"check_digit": "校验码错误 (check digit)", "birth_date": "出生日期无效 (birth date)"}
HOUSEHOLD_KEYS = [c.key for c in COLUMNS if c.household_level and c.key != "household_no"]


@dataclass(frozen=True)
class RowError:
    """One problem, located: `row` is the spreadsheet's row number (the header is row 1)."""

    code: str
    detail: str
    field: str | None
    row: int


@dataclass
class MemberRow:
    row: int
    name: str
    id_number: str
    sex: str
    birth_date: dt.date
    relation: str
    labor_ability: str
    health: str
    schooling: str
    household: dict[str, object]  # household-level values given on this row
    id_hash: str = ""


@dataclass
class HouseholdDraft:
    household_no: str
    first_row: int
    members: list[MemberRow] = field(default_factory=list)
    values: dict[str, object] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    row_errors: int = 0  # how many of `errors` come from the rows themselves
    head_hash: str = ""
    already_imported: bool = False

    def reset_checks(self) -> None:
        """Forget the registry checks' findings (a batch is retried)."""
        del self.errors[self.row_errors:]
        self.already_imported = False

    @property
    def village_code(self) -> str:
        return str(self.values.get("village_code", ""))


class RowParser:
    """Turns a row's cells into a MemberRow, or the row's errors."""

    def __init__(self, positions: dict[str, int], headers: dict[str, str]) -> None:
        self.positions, self.headers = positions, headers
        self.today = dt.date.today()

    def label(self, key: str) -> str:
        return self.headers.get(key) or BY_KEY[key].header

    def error(self, row: int, key: str, code: str, detail: str) -> RowError:
        return RowError(code, detail, self.label(key), row)

    def cell(self, cells: list[str], key: str) -> str:
        position = self.positions.get(key)
        return clean(cells[position]) if position is not None and position < len(cells) else ""

    def household_no(self, cells: list[str]) -> str:
        return self.cell(cells, "household_no")

    def parse(self, number: int, cells: list[str]) -> tuple[MemberRow | None, list[RowError]]:
        errors: list[RowError] = []
        values: dict[str, object] = {}
        for key in ("relation", "labor_ability", "health", "schooling"):
            values[key] = self._enum(number, cells, BY_KEY[key], errors)
        name = self.cell(cells, "name")
        if not name or len(name) > 50:
            errors.append(self.error(number, "name", "required" if not name else "too_long",
                                     "姓名必填且不超过 50 字 (name required, at most 50)"))
        info = self._id_number(number, cells, errors)
        household = {key: v for key in HOUSEHOLD_KEYS
                     if (v := self._household_value(number, cells, key, errors)) is not None}
        if errors or info is None:
            return None, errors
        return MemberRow(row=number, name=name, id_number=info.normalized, sex=info.sex,
                         birth_date=info.birth_date, household=household,
                         **{k: str(v) for k, v in values.items()}), []

    def _enum(self, number: int, cells: list[str], column: Column,
              errors: list[RowError]) -> str | None:
        text = self.cell(cells, column.key)
        if not text:
            if column.required:
                errors.append(self.error(number, column.key, "required", "必填 (required)"))
            return None
        code = code_of(column, text)
        if code is None:
            errors.append(self.error(number, column.key, "invalid_enum",
                                     f"“{text[:20]}”不是允许的取值 (not an allowed value)"))
        return code

    def _id_number(self, number: int, cells: list[str], errors: list[RowError]):
        text = self.cell(cells, "id_number")
        if not text:
            errors.append(self.error(number, "id_number", "required", "必填 (required)"))
            return None
        try:
            return parse_id_number(text, today=self.today)
        except InvalidIdNumber as exc:
            # Never repeat the number itself.
            reason = _ID_REASONS.get(exc.reason, "格式错误 (format)")
            errors.append(self.error(number, "id_number", "invalid_id_number",
                                     f"身份证号无效：{reason}"))
            return None

    def _household_value(self, number: int, cells: list[str], key: str,
                         errors: list[RowError]) -> object | None:
        text = self.cell(cells, key)
        if not text:
            return None
        column = BY_KEY[key]
        if key == "secondary_causes":
            return self._causes(number, text, column, errors)
        if key == "identified_year":
            if not (text.isdigit() and 2013 <= int(text) <= self.today.year):
                errors.append(self.error(number, key, "invalid_year",
                                         "识别年度应为 2013 年至今的四位年份 (invalid year)"))
                return None
            return int(text)
        if key == "village_code":
            if not (is_region_code(text) and len(text) == 12):
                errors.append(self.error(number, key, "invalid_region_code",
                                         "所在村代码应为 12 位村级区划代码 (12-digit code)"))
                return None
            return text
        return self._code(number, text, column, errors)

    def _code(self, number: int, text: str, column: Column, errors: list[RowError]):
        code = code_of(column, text)
        if code is None:
            errors.append(self.error(number, column.key, "invalid_enum",
                                     f"“{text[:20]}”不是允许的取值 (not an allowed value)"))
        return code

    def _causes(self, number: int, text: str, column: Column,
                errors: list[RowError]) -> list[str] | None:
        for sep in SEPARATORS[1:]:
            text = text.replace(sep, SEPARATORS[0])
        parts = [p.strip() for p in text.split(SEPARATORS[0]) if p.strip()]
        codes = [self._code(number, p, column, errors) for p in parts]
        if any(c is None for c in codes):
            return None
        if len(codes) > 2:
            errors.append(self.error(number, column.key, "too_many_causes",
                                     "次要致贫原因最多两项 (at most two secondary causes)"))
            return None
        return [str(c) for c in dict.fromkeys(codes)]


def households(parser: RowParser, records: Iterable[tuple[int, list[str]]]
               ) -> Iterator[HouseholdDraft]:
    """Group adjacent rows with the same 户编号 into checked household drafts."""
    current: HouseholdDraft | None = None
    for number, cells in records:
        if not any(c.strip() for c in cells):
            continue
        number_text = parser.household_no(cells)
        if current is None or number_text != current.household_no or not number_text:
            if current is not None:
                yield finish(parser, current)
            current = HouseholdDraft(household_no=number_text, first_row=number)
            if not _HOUSEHOLD_NO.match(number_text):
                current.errors.append(parser.error(
                    number, "household_no", "required" if not number_text else "invalid_household_no",
                    "户编号必填，1–40 位字母数字 (household number required)"))
        member, errors = parser.parse(number, cells)
        current.errors.extend(errors)
        if member is not None:
            current.members.append(member)
    if current is not None:
        yield finish(parser, current)


def finish(parser: RowParser, draft: HouseholdDraft) -> HouseholdDraft:
    """Household-level rules: exactly one head, whose row carries the household's values."""
    _household_rules(parser, draft)
    draft.row_errors = len(draft.errors)
    return draft


def _household_rules(parser: RowParser, draft: HouseholdDraft) -> None:
    if draft.errors:
        return
    heads = [m for m in draft.members if m.relation == "head"]
    if len(heads) != 1:
        draft.errors.append(parser.error(
            (heads[1] if heads else draft.members[0]).row, "relation", "head_count",
            f"每户必须有且只有一名户主，本户有 {len(heads)} 名 (exactly one head per household)"))
        return
    if len(draft.members) > MAX_MEMBERS:
        draft.errors.append(parser.error(draft.first_row, "household_no", "too_many_members",
                                         f"每户成员不超过 {MAX_MEMBERS} 人 (too many members)"))
        return
    draft.values = {"status": "poor", "secondary_causes": [], **heads[0].household}
    for key in HOUSEHOLD_KEYS:
        if BY_KEY[key].required and key not in draft.values:
            draft.errors.append(parser.error(heads[0].row, key, "required",
                                             "户主所在行必填 (required on the head's row)"))
    for member in draft.members:
        for key, value in member.household.items():
            if value != draft.values.get(key):
                draft.errors.append(parser.error(
                    member.row, key, "inconsistent_household",
                    "同户成员的户级信息与户主行不一致 (differs from the head's row)"))
