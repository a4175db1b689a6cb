"""居民身份证号 (GB 11643-1999): validation, derived fields, masking."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"^[1-9]\d{16}[\dX]$")


class InvalidIdNumber(ValueError):
    """The text is not a valid 18-character ID number."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class IdInfo:
    normalized: str
    birth_date: dt.date
    sex: str  # "male" | "female"
    region_prefix: str


_ZERO_OFFSET = ord("0") * sum(_WEIGHTS)
_ODD = frozenset("13579")


def check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def quick_fields(text: str, today: dt.date) -> tuple[str, dt.date, str] | None:
    """(normalized, birth date, sex) of a valid ID number, or None when `parse_id_number`
    must decide (and name the reason). The same rules, cheaper: the bulk import checks one
    number per row."""
    value = text.upper()
    if not _SHAPE.match(value):
        return None
    # The digits' character codes weighted, less the weighted code of "0" per position:
    # the weighted digit sum, without converting each character.
    if _CHECK[(sum(map(int.__mul__, value[:17].encode(), _WEIGHTS)) - _ZERO_OFFSET) % 11] \
            != value[17]:
        return None
    try:
        born = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None
    if born.year < 1900 or born > today:
        return None
    return value, born, "male" if value[16] in _ODD else "female"


def parse_id_number(text: str, *, today: dt.date | None = None) -> IdInfo:
    """Validate an ID number and derive birth date and sex; raise InvalidIdNumber."""
    value = text.strip().upper()
    if not _SHAPE.match(value):
        raise InvalidIdNumber("shape")
    if check_digit(value[:17]) != value[17]:
        raise InvalidIdNumber("check_digit")
    try:
        birth = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidIdNumber("birth_date") from None
    if birth.year < 1900 or birth > (today or dt.date.today()):
        raise InvalidIdNumber("birth_date")
    sex = "male" if int(value[16]) % 2 == 1 else "female"
    return IdInfo(normalized=value, birth_date=birth, sex=sex, region_prefix=value[:6])


def is_valid_id_number(text: str) -> bool:
    try:
        parse_id_number(text)
    except InvalidIdNumber:
        return False
    return True


def mask_id_number(value: str) -> str:
    """Keep the first 6 and last 4 characters: 430902********123X."""
    if len(value) < 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def synthetic(first17: str) -> str:
    """A made-up ID number with a valid check digit, for examples and templates (belongs to
    no one; built at run time so no ID-number literal sits in the source)."""
    return first17 + check_digit(first17)
