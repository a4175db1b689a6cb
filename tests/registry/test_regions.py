"""Regions: listing children, village attributes (If-Match), village exit (贫困村出列)."""

import pytest

from tests.registry.helpers import API, error_code, events, register, snapshot_counts
from tests.support.factories import VILLAGE, household, member

TABLES = ("regions", "audit_log")


async def _patch(p, code, body, **headers):
    return await p.client("registry").patch(f"{API}/regions/{code}", json=body,
                                            headers={**p.auth(), **headers})


async def _exit(p, code=VILLAGE, year=2020):
    return await p.client("registry").post(f"{API}/regions/{code}/exit", json={"year": year},
                                           headers=p.auth())


async def _people(p, n_households: int, size: int = 2) -> list[dict]:
    """Register households of `size` people each in VILLAGE."""
    out = []
    for _ in range(n_households):
        members = [member()] + [member("child") for _ in range(size - 1)]
        out.append(await register(p, household(members=members)))
    return out


class TestList:
    async def test_children_of_a_parent(self, registry):
        c, h = registry.client("registry"), registry.auth(scopes=["registry:read"])
        for code in ("430902100202", "430902100203"):
            await c.post(f"{API}/regions", json={"code": code, "name": "某村"}, headers=registry.auth())
        r = await c.get(f"{API}/regions", params={"parent": "430902100", "limit": 2}, headers=h)
        assert [x["code"] for x in r.json()["items"]] == ["430902100201", "430902100202"]
        nxt = await c.get(f"{API}/regions", params={"parent": "430902100", "limit": 2,
                                                    "cursor": r.json()["next_cursor"]}, headers=h)
        assert [x["code"] for x in nxt.json()["items"]] == ["430902100203"]
        assert nxt.json()["next_cursor"] is None

    async def test_scoped_to_callers_region(self, registry):
        r = await registry.client("registry").get(
            f"{API}/regions", params={"parent": "4309"},
            headers=registry.auth(region="430902", scopes=["registry:read"]))
        assert [x["code"] for x in r.json()["items"]] == ["430902"]


class TestPatch:
    async def test_sets_village_attributes_and_emits(self, registry):
        r = await _patch(registry, VILLAGE, {"is_poor_village": True, "population": 1200},
                         **{"If-Match": '"1"'})
        assert r.status_code == 200, r.text
        assert (r.json()["is_poor_village"], r.json()["population"], r.json()["version"]) == (
            True, 1200, 2)
        assert r.headers["etag"] == '"2"'
        [event] = await events(registry, "region.updated")
        assert event == {"code": VILLAGE, "is_poor_village": True, "population": 1200,
                         "version": 2}

    async def test_stale_if_match_412(self, registry):
        await _patch(registry, VILLAGE, {"population": 10})
        before = await snapshot_counts(registry, *TABLES)
        r = await _patch(registry, VILLAGE, {"population": 20}, **{"If-Match": '"1"'})
        assert r.status_code == 412
        assert error_code(r) == "stale_version"
        assert await snapshot_counts(registry, *TABLES) == before

    @pytest.mark.parametrize(("code", "body", "error"), [
        ("430902100", {"population": 5}, "not_a_village"),
        (VILLAGE, {"population": -5}, "greater_than_equal"),
        (VILLAGE, {"is_poor_village": "sometimes"}, "bool_parsing"),
        (VILLAGE, {"is_poor_village": None}, "invalid_value"),
        (VILLAGE, {"name": "x"}, "unknown_field"),
    ])
    async def test_bad_patch_422(self, registry, code, body, error):
        before = await snapshot_counts(registry, *TABLES)
        r = await _patch(registry, code, body)
        assert r.status_code == 422
        assert error_code(r) == error
        assert await snapshot_counts(registry, *TABLES) == before

    async def test_unknown_region_404(self, registry):
        r = await _patch(registry, "430902100299", {"population": 5})
        assert r.status_code == 404


class TestVillageExit:
    async def test_exits_below_default_threshold(self, registry):
        p = registry
        await _people(p, 1, size=3)  # 3 poor people
        await _patch(p, VILLAGE, {"is_poor_village": True, "population": 151})
        r = await _exit(p)  # 3 / 151 = 1.99 % < 2 %
        assert r.status_code == 200, r.text
        assert r.json()["exited_year"] == 2020
        [event] = await events(p, "region.exited")
        assert event == {"code": VILLAGE, "year": 2020, "poor_people": 3, "population": 151,
                         "threshold_bp": 200}

    async def test_incidence_at_threshold_is_refused(self, registry):
        p = registry
        await _people(p, 1, size=3)
        await _patch(p, VILLAGE, {"is_poor_village": True, "population": 150})  # exactly 2 %
        before = await snapshot_counts(p, *TABLES)
        r = await _exit(p)
        assert r.status_code == 422
        assert error_code(r) == "incidence_above_threshold"
        assert await snapshot_counts(p, *TABLES) == before

    async def test_relapsed_count_exited_do_not(self, registry):
        p = registry
        hs = await _people(p, 2, size=2)
        c = p.client("registry")
        await c.put(f"{API}/poverty-lines/2019", json={"region_code": "", "amount": "1"},
                    headers=p.auth())
        for hh in hs:
            await c.put(f"{API}/households/{hh['id']}/incomes/2019", headers=p.auth(), json={
                "wage": "9000", "business": "0", "property": "0", "transfer": "0",
                "business_cost": "0"})
            await c.put(f"{API}/households/{hh['id']}/guarantees", headers=p.auth(), json={
                "food": True, "clothing": True, "compulsory_education": True,
                "basic_medical": True, "housing_safety": True, "drinking_water": True,
                "assessed_on": "2019-10-01"})
            assert (await c.post(f"{API}/households/{hh['id']}/exit", json={"year": 2019},
                                 headers=p.auth())).status_code == 200
        await c.post(f"{API}/households/{hs[0]['id']}/relapse", headers=p.auth(),
                     json={"reason": "illness", "occurred_on": "2020-03-01"})
        await _patch(p, VILLAGE, {"is_poor_village": True, "population": 100})
        r = await _exit(p)  # 2 relapsed people of 100 = 2 %: not below
        assert error_code(r) == "incidence_above_threshold"
        await c.put(f"{API}/exit-thresholds/430902", json={"threshold_percent": "2.5"},
                    headers=p.auth())
        r = await _exit(p)
        assert r.status_code == 200, r.text
        [event] = await events(p, "region.exited")
        assert (event["poor_people"], event["threshold_bp"]) == (2, 250)

    @pytest.mark.parametrize(("setup", "error"), [
        ({"population": 100}, "not_a_poor_village"),
        ({"is_poor_village": True}, "population_unknown"),
    ])
    async def test_preconditions(self, registry, setup, error):
        await _patch(registry, VILLAGE, setup)
        before = await snapshot_counts(registry, *TABLES)
        r = await _exit(registry)
        assert r.status_code == 422
        assert error_code(r) == error
        assert await snapshot_counts(registry, *TABLES) == before

    async def test_only_villages_and_only_once(self, registry):
        r = await _exit(registry, code="430902100")
        assert error_code(r) == "not_a_village"
        await _patch(registry, VILLAGE, {"is_poor_village": True, "population": 100})
        assert (await _exit(registry)).status_code == 200
        r = await _exit(registry, year=2021)
        assert error_code(r) == "already_exited"
