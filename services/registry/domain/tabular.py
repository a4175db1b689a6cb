"""The household spreadsheet (户成员表) shared by import, export and the template: its
columns, their Chinese and English headers, and the code values each column accepts."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.registry.domain.enums import (
    Attribute,
    Cause,
    Health,
    HouseholdStatus,
    LaborAbility,
    Relation,
    Schooling,
)
from shared.idnumber import synthetic
from shared.web import LabeledEnum


@dataclass(frozen=True)
class Column:
    key: str  # the contract's field name, also accepted as an English header
    header: str  # the Chinese header offices use
    aliases: tuple[str, ...] = ()
    required: bool = True
    household_level: bool = False  # repeated on every member row; the head's row decides
    enum: type[LabeledEnum] | None = None
    example: str = ""
    note: str = ""
    accepted: dict[str, str] = field(default_factory=dict, compare=False)


# Codes of the national poverty-alleviation information system (全国扶贫开发信息系统).
NATIONAL_CODES: dict[str, dict[str, str]] = {
    "attribute": {"01": "general", "04": "dibao", "06": "tekun"},
    "status": {"0": "poor", "1": "exited", "3": "relapsed"},
}

# Other spellings found in county spreadsheets.
ALIASES: dict[str, dict[str, str]] = {
    "attribute": {"一般户": "general", "低保户": "dibao", "特困户": "tekun", "五保户": "tekun",
                  "五保贫困户": "tekun", "特困供养户": "tekun"},
    "status": {"贫困": "poor", "脱贫": "exited", "已脱贫(享受政策)": "exited",
               "脱贫不享受政策": "exited", "返贫户": "relapsed"},
    "relation": {"本人": "head", "妻": "spouse", "夫": "spouse", "之妻": "spouse",
                 "之夫": "spouse", "子": "child", "女": "child", "之子": "child",
                 "之女": "child", "儿子": "child", "女儿": "child", "父亲": "parent",
                 "母亲": "parent", "之父": "parent", "之母": "parent", "孙子": "grandchild",
                 "孙女": "grandchild", "之孙子": "grandchild", "之孙女": "grandchild",
                 "兄弟": "sibling", "姐妹": "sibling", "之兄弟": "sibling", "之姐妹": "sibling",
                 "儿媳": "other", "之儿媳": "other", "女婿": "other", "之女婿": "other"},
    "labor_ability": {"弱劳动力": "weak", "半劳动力": "weak"},
    "health": {"长期慢性病患者": "chronic", "大病": "serious_illness", "残疾人": "disabled"},
    "schooling": {"在校生": "primary", "学龄前儿童": "preschool", "初中": "junior",
                  "高中": "senior", "中职": "vocational", "高职": "vocational",
                  "大专": "college", "本科": "college", "本科及以上": "college"},
}

COLUMNS: tuple[Column, ...] = (
    Column("household_no", "户编号", example="43090210020100001", household_level=True,
           note="同一户的成员行须连续排列 / rows of one household must be adjacent"),
    Column("name", "姓名", aliases=("成员姓名",), example="王建国"),
    Column("id_number", "身份证号", aliases=("证件号码", "身份证号码"),
           example=synthetic("43090219800517001"), note="请设置为文本格式 / keep as text"),
    Column("relation", "与户主关系", enum=Relation, example="户主"),
    Column("labor_ability", "劳动能力", aliases=("劳动技能",), enum=LaborAbility,
           example="普通劳动力"),
    Column("health", "健康状况", enum=Health, example="健康"),
    Column("schooling", "在校生状况", enum=Schooling, example="非在校生"),
    Column("primary_cause", "致贫原因", aliases=("主要致贫原因",), enum=Cause,
           household_level=True, example="因病"),
    Column("secondary_causes", "次要致贫原因", aliases=("其他致贫原因",), enum=Cause,
           required=False, household_level=True, example="缺技术",
           note="最多两项，以 、 或 , 分隔 / at most two"),
    Column("attribute", "贫困户属性", enum=Attribute, household_level=True, example="一般贫困户"),
    Column("identified_year", "识别年度", aliases=("识别年份",), household_level=True,
           example="2016"),
    Column("village_code", "所在村代码", aliases=("行政区划代码", "村代码"),
           household_level=True, example="430902100201", note="12 位村级区划代码"),
    Column("status", "脱贫状态", aliases=("贫困户状态",), enum=HouseholdStatus,
           required=False, household_level=True, example="未脱贫", note="空白为未脱贫"),
)

BY_KEY = {c.key: c for c in COLUMNS}
HEADERS = [c.header for c in COLUMNS]
SEPARATORS = ("、", "，", ",", "；", ";", "|", "/")


def _accepted(column: Column) -> dict[str, str]:
    """Every spelling a column accepts, normalised, mapped to the contract's code."""
    if column.enum is None:
        return {}
    out: dict[str, str] = {}
    for member in column.enum:
        out[member.value.lower()] = member.value
        out[member.label] = member.value
        if member.label.startswith("因"):
            out[member.label + "致贫"] = member.value
    out.update(ALIASES.get(column.key, {}))
    out.update(NATIONAL_CODES.get(column.key, {}))
    return out


for _column in COLUMNS:
    _column.accepted.update(_accepted(_column))


def header_index(column: Column) -> set[str]:
    return {column.header, column.key, *column.aliases}


def map_headers(cells: list[str]) -> dict[str, int]:
    """Column key -> position for the header cells that name a known column."""
    wanted = {name.lower(): c.key for c in COLUMNS for name in header_index(c)}
    found: dict[str, int] = {}
    for position, cell in enumerate(cells):
        key = wanted.get(clean(cell).lower().replace(" ", ""))
        if key is not None and key not in found:
            found[key] = position
    return found


def clean(value: object) -> str:
    """Cell text without surrounding blanks (full-width spaces and BOM included)."""
    return str(value).strip().strip("\ufeff\u3000\t ")


def code_of(column: Column, value: str) -> str | None:
    """The contract code for a spelling, or None when the column does not accept it."""
    return column.accepted.get(value) or column.accepted.get(value.lower())


def allowed_values(column: Column) -> list[tuple[str, str, str]]:
    """(code, Chinese label, national code) for the template's list of allowed values."""
    assert column.enum is not None
    national = {v: k for k, v in NATIONAL_CODES.get(column.key, {}).items()}
    return [(m.value, m.label, national.get(m.value, "")) for m in column.enum]


def label_of(column: Column, code: str) -> str:
    """The Chinese label an export writes for a code."""
    assert column.enum is not None
    try:
        return column.enum(code).label
    except ValueError:
        return code
