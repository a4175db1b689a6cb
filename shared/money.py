"""Money: integer fen inside, yuan decimal strings at the HTTP edge."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

_YUAN = re.compile(r"^\d{1,13}(\.\d{1,2})?$")
_MANY_DECIMALS = re.compile(r"^\d{1,13}\.\d{3,}$")


def parse_yuan(value: Any) -> int:
    """Parse a yuan amount ("4300.00", "4300", 4300.5) into fen; reject negatives and >2 decimals."""
    if isinstance(value, bool):
        raise PydanticCustomError("invalid_amount", "金额格式不正确 (amount must be a yuan string)")
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise PydanticCustomError("invalid_amount", "金额格式不正确 (amount must be finite)")
        # repr gives the shortest string that round-trips, so 0.1 stays "0.1".
        text = repr(value)
        if "e" in text or "E" in text:
            text = format(Decimal(text), "f")
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise PydanticCustomError("invalid_amount", "金额格式不正确 (amount must be a yuan string)")
    if text.startswith("-"):
        raise PydanticCustomError("negative_amount", "金额不能为负数 (amount must not be negative)")
    if not _YUAN.match(text):
        if _MANY_DECIMALS.match(text):
            raise PydanticCustomError(
                "too_many_decimals", "金额最多两位小数 (at most 2 decimals, e.g. \"4300.00\")")
        raise PydanticCustomError(
            "invalid_amount", "金额格式不正确 (amount must be a decimal in yuan)")
    return int((Decimal(text) * 100).to_integral_exact())


def format_yuan(fen: int) -> str:
    """Render fen as a yuan string with two decimals: 430000 -> "4300.00"."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


_JSON_SCHEMA = {
    "type": "string",
    "pattern": r"^\d{1,13}(\.\d{1,2})?$",
    "description": "金额（元），最多两位小数的十进制字符串 / amount in yuan, decimal string",
    "examples": ["4300.00"],
}

Yuan = Annotated[
    int,
    BeforeValidator(parse_yuan),
    PlainSerializer(format_yuan, return_type=str, when_used="json"),
    WithJsonSchema(_JSON_SCHEMA),
]
"""An amount held as fen, read from and written as a yuan string."""

YuanOut = Annotated[
    int,
    PlainSerializer(format_yuan, return_type=str, when_used="json"),
    WithJsonSchema(_JSON_SCHEMA),
]
"""For responses built from stored fen: no parsing on the way in (an int here is fen)."""
