"""Household import, first stage: each spreadsheet row checked on its own, then rows grouped
into households (by 户编号) and checked together. Pure functions, no I/O."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from services.registry.domain.tabular import BY_KEY, COLUMNS, SEPARATORS, Column, code_of
from shared.idnumber import InvalidIdNumber, parse_id_number, quick_fields
from shared.regions import is_region_code

MAX_MEMBERS = 30
_HOUSEHOLD_NO = re.compile(r"^[0-9A-Za-z_-]{1,40}$")
_ID_REASONS = {"check_digit": "校验码错误 (check digit)", "birth_date": "出生日期无效 (birth date)"}
HOUSEHOLD_KEYS = [c.key for c in COLUMNS if c.household_level and c.key != "household_no"]
MEMBER_ENUMS = ("relation", "labor_ability", "health", "schooling")
_KNOWN_VALUES = 100_000  # distinct household-level texts remembered per file (memory bound)


@dataclass(frozen=True)
class RowError:
    """One problem, located: `row` is the spreadsheet's row number (the header is row 1)."""

    code: str
    detail: str
    field: str | None
    row: int


@dataclass(slots=True)
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
    household: dict[str, str]  # household-level texts given on this row (not yet parsed)
    id_hash: str = ""


@dataclass(slots=True)
class HouseholdDraft:
    household_no: str
    first_row: int
    members: list[MemberRow] = field(default_factory=list)
    values: dict[str, object] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    row_errors: int = 0  # how many of `errors` come from the rows themselves
    head_hash: str = ""
    already_imported: bool = False
    prepared: Any = None  # the rows to insert, built before the registry checks
    village_code: str = ""  # values["village_code"] once the household rules have run

    def reset_checks(self) -> None:
        """Forget the registry checks' findings (a batch is retried)."""
        del self.errors[self.row_errors:]
        self.already_imported = False


class RowParser:
    """Turns a row's cells into a MemberRow, or the row's errors."""

    def __init__(self, positions: dict[str, int], headers: dict[str, str]) -> None:
        self.positions, self.headers = positions, headers
        self.today = dt.date.today()
        self.width = max(positions.values()) + 1
        self.enums = [(BY_KEY[k], positions.get(k)) for k in MEMBER_ENUMS]
        self.household_cells = [(k, p) for k in HOUSEHOLD_KEYS
                                if (p := positions.get(k)) is not None]
        self._known_values: dict[tuple[str, str], object] = {}  # see household_values
        # The common case's lookups, precomputed: a row they accept is one `parse` accepts.
        complete = all(p is not None for _, p in self.enums) and {"name", "id_number"} <= \
            positions.keys()
        self._quick = (positions["name"], positions["id_number"],
                       [(p, c.accepted) for c, p in self.enums]) if complete else None

    def label(self, key: str) -> str:
        return self.headers.get(key) or BY_KEY[key].header

    def error(self, row: int, key: str, code: str, detail: str) -> RowError:
        return RowError(code, detail, self.label(key), row)

    def cell(self, cells: list[str], key: str) -> str:
        position = self.positions.get(key)
        return cells[position].strip() if position is not None and position < len(cells) else ""

    def household_no(self, cells: list[str]) -> str:
        return self.cell(cells, "household_no")

    def parse(self, number: int, cells: list[str]) -> tuple[MemberRow | None, list[RowError]]:
        member = self._quick_parse(number, cells)
        if member is not None:
            return member, []
        if len(cells) < self.width:
            cells = cells + [""] * (self.width - len(cells))
        errors: list[RowError] = []
        codes = [self._enum(number, cells[p].strip() if p is not None else "", column, errors)
                 for column, p in self.enums]
        name = self.cell(cells, "name")
        if not name or len(name) > 50:
            errors.append(self.error(number, "name", "required" if not name else "too_long",
                                     "姓名必填且不超过 50 字 (name required, at most 50)"))
        info = self._id_number(number, cells, errors)
        household = {key: text for key, p in self.household_cells if (text := cells[p].strip())}
        if errors or info is None:
            return None, errors
        relation, labor_ability, health, schooling = codes
        return MemberRow(number, name, info.normalized, info.sex, info.birth_date,
                         str(relation), str(labor_ability), str(health), str(schooling),
                         household), []

    def _quick_parse(self, number: int, cells: list[str]) -> MemberRow | None:
        """The row as `parse` would return it when the row has no error, else None (and
        `parse` finds and names the errors). No method call per cell: most rows are valid."""
        if self._quick is None or len(cells) < self.width:
            return None
        name_at, id_at, enums = self._quick
        codes = []
        for position, accepted in enums:
            text = cells[position].strip()
            code = accepted.get(text) or accepted.get(text.lower())
            if not text or code is None:
                return None
            codes.append(code)
        name = cells[name_at].strip()
        fields = quick_fields(cells[id_at].strip(), self.today)
        if not name or len(name) > 50 or fields is None:
            return None
        relation, labor_ability, health, schooling = codes
        return MemberRow(number, name, fields[0], fields[2], fields[1], relation, labor_ability,
                         health, schooling, {key: text for key, p in self.household_cells
                                             if (text := cells[p].strip())})

    def household_values(self, member: MemberRow, errors: list[RowError]) -> dict[str, object]:
        """The household-level values of one row, parsed. A text parsed without error once is
        not parsed again: a file repeats a few village codes, years and causes throughout."""
        values: dict[str, object] = {}
        known = self._known_values
        for key, text in member.household.items():
            value = known.get((key, text))
            if value is None:
                found = len(errors)
                value = self._household_value(member.row, text, key, errors)
                if value is None:
                    continue
                if len(errors) == found and len(known) < _KNOWN_VALUES:
                    known[(key, text)] = tuple(value) if isinstance(value, list) else value
            values[key] = list(value) if isinstance(value, tuple) else value
        return values

    def _enum(self, number: int, text: str, column: Column,
              errors: list[RowError]) -> str | None:
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

    def _household_value(self, number: int, text: str, key: str,
                         errors: list[RowError]) -> object | None:
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
        number_text = parser.household_no(cells)
        if not number_text and not "".join(cells).strip():  # no cell with more than blanks
            continue
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
    draft.village_code = str(draft.values.get("village_code", ""))
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
    head = heads[0]
    draft.values = {"status": "poor", "secondary_causes": [],
                    **parser.household_values(head, draft.errors)}
    for key in HOUSEHOLD_KEYS:
        if BY_KEY[key].required and key not in head.household:
            draft.errors.append(parser.error(head.row, key, "required",
                                             "户主所在行必填 (required on the head's row)"))
    for member in draft.members:
        if member is head:
            continue
        # Only a text that differs from the head's is parsed ("04" equals "低保贫困户").
        for key, text in member.household.items():
            if text == head.household.get(key):
                continue
            found = len(draft.errors)
            value = parser.household_values(_only(member, key), draft.errors).get(key)
            if len(draft.errors) == found and value != draft.values.get(key):
                draft.errors.append(parser.error(
                    member.row, key, "inconsistent_household",
                    "同户成员的户级信息与户主行不一致 (differs from the head's row)"))


def _only(member: MemberRow, key: str) -> MemberRow:
    return dataclasses.replace(member, household={key: member.household[key]})
