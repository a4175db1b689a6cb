"""Region codes (统计用区划代码): 2+2+2+3+3 digits, shorter prefixes address higher levels."""

from __future__ import annotations

import enum
import re

_LEVEL_BY_LENGTH = {2: "province", 4: "city", 6: "county", 9: "township", 12: "village"}
_PARENT_LENGTH = {4: 2, 6: 4, 9: 6, 12: 9}
_DIGITS = re.compile(r"^\d*$")


class RegionLevel(enum.StrEnum):
    province = "province"
    city = "city"
    county = "county"
    township = "township"
    village = "village"


REGION_LEVEL_LABELS = {
    "province": "省级",
    "city": "市级",
    "county": "县级",
    "township": "乡镇级",
    "village": "村级",
}


def is_region_code(code: str) -> bool:
    """A full code of one level (2, 4, 6, 9 or 12 digits), not all zeros."""
    return bool(_DIGITS.match(code)) and len(code) in _LEVEL_BY_LENGTH and code.strip("0") != ""


def is_region_prefix(code: str) -> bool:
    """A scope prefix: "" (the whole country) or a region code."""
    return code == "" or is_region_code(code)


def level_of(code: str) -> RegionLevel:
    if not is_region_code(code):
        raise ValueError("not a region code")
    return RegionLevel(_LEVEL_BY_LENGTH[len(code)])


def parent_of(code: str) -> str | None:
    """The code of the level above, or None for a province."""
    length = _PARENT_LENGTH.get(len(code))
    return code[:length] if length else None


def ancestors(code: str) -> list[str]:
    """Every prefix from the province down to the code itself, plus "" (national) first."""
    out = [""]
    for length in (2, 4, 6, 9, 12):
        if len(code) >= length:
            out.append(code[:length])
    return out


def within(code: str, scope: str) -> bool:
    """True when the region `code` lies inside the scope prefix (``""`` covers everything)."""
    return code.startswith(scope)


def longest_prefix_match(code: str, candidates: dict[str, object]) -> str | None:
    """The longest key of `candidates` that is a prefix of `code` ("" matches all)."""
    best: str | None = None
    for key in candidates:
        if code.startswith(key) and (best is None or len(key) > len(best)):
            best = key
    return best
