"""Shared set-up for the registry tests: a started registry with a region tree, and
shortcuts that drive state through the public API only."""

from __future__ import annotations

import json

from tests.support.db import count, rows
from tests.support.factories import household

API = "/api/v1/registry"
ALL_MET = {"food": True, "clothing": True, "compulsory_education": True, "basic_medical": True,
           "housing_safety": True, "drinking_water": True, "assessed_on": "2019-10-01"}
INCOME = {"wage": "8000.00", "business": "3000", "property": "0", "transfer": 1200.5,
          "business_cost": "1000.00"}


async def register(p, body: dict | None = None) -> dict:
    r = await p.client("registry").post(f"{API}/households", json=body or household(),
                                        headers=p.auth())
    assert r.status_code == 201, r.text
    return r.json()


async def events(p, type_suffix: str) -> list[dict]:
    """Payloads of outbox rows of one event type, in order."""
    found = await rows(p.runtime("registry"),
                       "SELECT payload FROM outbox WHERE type = :t ORDER BY id",
                       t=f"cn.fupin.registry.{type_suffix}")
    return [json.loads(r.payload)["data"] for r in found]


async def snapshot_counts(p, *tables: str) -> dict[str, int]:
    rt = p.runtime("registry")
    return {t: await count(rt, t) for t in ("outbox", *tables)}


def error_code(response) -> str:
    assert response.headers["content-type"] == "application/problem+json", response.text
    return response.json()["errors"][0]["code"]


def as_json(value):
    """A JSON column read through raw SQL: text on SQLite, already decoded on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else value
