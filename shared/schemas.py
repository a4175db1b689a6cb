"""Request-body building blocks every service uses: strict models, region codes, ID numbers."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from shared.idnumber import InvalidIdNumber, parse_id_number, synthetic
from shared.regions import is_region_code, is_region_prefix


class Strict(BaseModel):
    """Unknown fields are refused (422 unknown_field); strings are trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _region_code(value: str) -> str:
    if not is_region_code(value):
        raise PydanticCustomError("invalid_region_code",
                                  "区划代码应为 2/4/6/9/12 位数字 (invalid region code)")
    return value


def _region_prefix(value: str) -> str:
    if not is_region_prefix(value):
        raise PydanticCustomError("invalid_region_code",
                                  "区划代码应为空或 2/4/6/9/12 位数字 (invalid region prefix)")
    return value


def _id_number(value: str) -> str:
    try:
        return parse_id_number(value).normalized
    except InvalidIdNumber as exc:
        # The message never repeats the number itself.
        reason = {"check_digit": "校验码错误", "birth_date": "出生日期无效"}.get(exc.reason, "格式错误")
        raise PydanticCustomError(
            "invalid_id_number", f"身份证号无效：{reason} (invalid ID number: {exc.reason})"
        ) from None


RegionCode = Annotated[str, Field(max_length=12, examples=["430902100201"]),
                       AfterValidator(_region_code)]
"""A full code of one level: 2, 4, 6, 9 or 12 digits."""

RegionPrefix = Annotated[str, Field(max_length=12, examples=["43"]),
                         AfterValidator(_region_prefix)]
"""A scope: "" (the whole country) or a region code."""

IdNumber = Annotated[str, Field(min_length=15, max_length=20, examples=[synthetic("43090219900101123")]),
                     AfterValidator(_id_number)]
"""居民身份证号, validated (GB 11643) and normalised (upper-case X)."""
