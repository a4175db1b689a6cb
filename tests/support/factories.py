"""Test data: valid ID numbers, region trees, household bodies."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import httpx

from shared.idnumber import check_digit

_seq = itertools.count(1)


def id_number(region: str = "430902", birth: dt.date | None = None,
              *, female: bool = False) -> str:
    """A valid, synthetic ID number, unique within the test run (500 per birth date; without
    an explicit date, the date moves on a day every 500 numbers)."""
    n = next(_seq)
    if birth is None:
        birth = dt.date(1980, 5, 17) + dt.timedelta(days=n // 500)
    serial = (n % 500) * 2 + (0 if female else 1)
    first17 = f"{region}{birth:%Y%m%d}{serial:03d}"
    return first17 + check_digit(first17)


VILLAGE = "430902100201"
OTHER_COUNTY_VILLAGE = "430903100201"


async def region_tree(client: httpx.AsyncClient, headers: dict[str, str],
                      village: str = VILLAGE) -> None:
    """Create the province → village chain down to `village` (existing levels are fine)."""
    for length in (2, 4, 6, 9, 12):
        code = village[:length]
        r = await client.post("/api/v1/registry/regions", headers=headers,
                              json={"code": code, "name": f"区划{code}"})
        assert r.status_code in (201, 409), r.text


def member(relation: str = "head", **overrides: Any) -> dict[str, Any]:
    body = {"name": "张三", "id_number": id_number(), "relation": relation,
            "labor_ability": "normal", "health": "healthy", "schooling": "none"}
    body.update(overrides)
    return body


def household(village: str = VILLAGE, members: list[dict] | None = None,
              **overrides: Any) -> dict[str, Any]:
    body = {
        "village_code": village, "attribute": "general", "identified_year": 2016,
        "primary_cause": "illness", "secondary_causes": ["lack_skills"],
        "members": members or [member("head"), member("spouse", name="李四")],
    }
    body.update(overrides)
    return body
