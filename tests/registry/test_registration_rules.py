"""Registration edge cases beyond the thin flow: birth dates, enums, history start."""

import pytest

from shared.idnumber import check_digit
from tests.registry.helpers import API, error_code, register, snapshot_counts
from tests.support.factories import household, member

TABLES = ("households", "members", "audit_log")


@pytest.mark.parametrize("birth", ["19800230", "20991231", "18991231"])
async def test_impossible_birth_date_422(registry, birth):
    first17 = f"430902{birth}001"
    body = household(members=[member(id_number=first17 + check_digit(first17))])
    before = await snapshot_counts(registry, *TABLES)
    r = await registry.client("registry").post(f"{API}/households", json=body,
                                               headers=registry.auth())
    assert r.status_code == 422
    assert error_code(r) == "invalid_id_number"
    assert first17 not in r.text
    assert await snapshot_counts(registry, *TABLES) == before


@pytest.mark.parametrize(("field", "value"), [("primary_cause", "laziness"),
                                              ("identified_year", 2000)])
async def test_bad_household_fields_422(registry, field, value):
    before = await snapshot_counts(registry, *TABLES)
    r = await registry.client("registry").post(f"{API}/households",
                                               json=household(**{field: value}),
                                               headers=registry.auth())
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == field
    assert await snapshot_counts(registry, *TABLES) == before


async def test_new_household_has_empty_status_history(registry):
    h = await register(registry)
    r = await registry.client("registry").get(f"{API}/households/{h['id']}/history",
                                              headers=registry.auth())
    assert r.status_code == 200
    assert r.json() == []


async def test_history_outside_region_404(registry):
    h = await register(registry)
    r = await registry.client("registry").get(
        f"{API}/households/{h['id']}/history",
        headers=registry.auth(region="430903", scopes=["registry:read"]))
    assert r.status_code == 404
