"""Searching households (filters, q by name or ID number, cursors, masking) and statistics."""

from tests.registry.helpers import API, register
from tests.support.factories import OTHER_COUNTY_VILLAGE, VILLAGE, household, member


async def _list(p, params=None, **auth):
    r = await p.client("registry").get(f"{API}/households", params=params or {},
                                       headers=p.auth(**auth))
    assert r.status_code == 200, r.text
    return r.json()


class TestSearch:
    async def test_filters(self, registry):
        p = registry
        a = await register(p, household(attribute="dibao", primary_cause="illness",
                                        secondary_causes=[]))
        b = await register(p, household(attribute="general", primary_cause="disaster",
                                        secondary_causes=["illness"]))
        c = await register(p, household(OTHER_COUNTY_VILLAGE, primary_cause="lack_land",
                                        secondary_causes=["lack_water"]))
        ids = lambda page: [h["id"] for h in page["items"]]  # noqa: E731
        assert ids(await _list(p)) == [a["id"], b["id"], c["id"]]
        assert ids(await _list(p, {"region": "430902"})) == [a["id"], b["id"]]
        assert ids(await _list(p, {"attribute": "dibao"})) == [a["id"]]
        assert ids(await _list(p, {"cause": "illness"})) == [a["id"], b["id"]]
        assert ids(await _list(p, {"cause": "lack_water"})) == [c["id"]]
        assert ids(await _list(p, {"status": "exited"})) == []
        assert ids(await _list(p, {"status": "poor", "region": OTHER_COUNTY_VILLAGE})) == [c["id"]]

    async def test_region_of_every_level_pages_in_id_order(self, registry):
        """A city, county or township is matched on its index of the code's first digits, a
        village by equality, a province with LIKE: each gives the households under it,
        page after page in id order."""
        from tests.support.factories import region_tree

        p = registry
        other_township = "430902200301"
        other_city = "431002100101"
        for village in (other_township, other_city):
            await region_tree(p.client("registry"), p.auth(), village)
        where = {}
        for i in range(9):  # interleaved, so no region's households are contiguous by id
            village = (VILLAGE, OTHER_COUNTY_VILLAGE, other_township, other_city)[i % 4]
            where[(await register(p, household(village)))["id"]] = village
        for prefix in ("", "43", "4309", "430902", "430902100", VILLAGE, "4310", "431002",
                       "430903100", "44", "440101"):
            expected = [h for h, v in where.items() if v.startswith(prefix)]
            seen, cursor = [], None
            while True:
                params = {"limit": 2, **({"region": prefix} if prefix else {}),
                          **({"cursor": cursor} if cursor else {})}
                page = await _list(p, params)
                seen += [h["id"] for h in page["items"]]
                cursor = page["next_cursor"]
                if not cursor:
                    break
            assert seen == sorted(expected), prefix
            assert bool(expected) == (not prefix.startswith("44")), prefix  # not vacuous

    async def test_q_by_name_and_full_id_number(self, registry):
        p = registry
        a = await register(p, household(members=[member(name="王五")]))
        b = await register(p, household(members=[member(name="王五"), member("spouse",
                                                                              name="赵六")]))
        number = b["members"][1]["id_number"]
        ids = lambda page: [h["id"] for h in page["items"]]  # noqa: E731
        assert ids(await _list(p, {"q": "王五"})) == [a["id"], b["id"]]
        assert ids(await _list(p, {"q": "王"})) == []
        assert ids(await _list(p, {"q": "赵六"})) == [b["id"]]
        assert ids(await _list(p, {"q": number})) == [b["id"]]
        assert ids(await _list(p, {"q": number.lower()})) == [b["id"]]
        assert ids(await _list(p, {"q": "%"})) == []

    async def test_cursor_pagination(self, registry):
        p = registry
        made = [(await register(p))["id"] for _ in range(5)]
        seen, cursor = [], None
        while True:
            page = await _list(p, {"limit": 2, **({"cursor": cursor} if cursor else {})})
            seen += [h["id"] for h in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert seen == made

    async def test_masked_without_pii_read_and_scoped(self, registry):
        p = registry
        body = household()
        await register(p, body)
        await register(p, household(OTHER_COUNTY_VILLAGE))
        page = await _list(p, scopes=["registry:read"], region="430902")
        assert len(page["items"]) == 1
        number = body["members"][0]["id_number"]
        assert page["items"][0]["members"][0]["id_number"] == number[:6] + "********" + number[-4:]
        assert number not in str(page)
        revealed = await _list(p, scopes=["registry:read", "pii:read"])
        assert revealed["items"][0]["members"][0]["id_number"] == number

    async def test_region_outside_scope_403(self, registry):
        r = await registry.client("registry").get(
            f"{API}/households", params={"region": "430903"},
            headers=registry.auth(region="430902", scopes=["registry:read"]))
        assert r.status_code == 403


class TestStats:
    async def test_counts_and_incidence(self, registry):
        p = registry
        c = p.client("registry")
        await register(p, household(attribute="dibao", members=[member(), member("child")]))
        h2 = await register(p, household(primary_cause="disaster", secondary_causes=[],
                                         members=[member(), member("child"), member("spouse")]))
        await register(p, household(OTHER_COUNTY_VILLAGE, members=[member()]))
        spouse = next(m for m in h2["members"] if m["relation"] == "spouse")
        await c.delete(f"{API}/households/{h2['id']}/members/{spouse['id']}",
                       params={"reason": "moved_out"}, headers=p.auth())
        await c.patch(f"{API}/regions/{VILLAGE}", json={"is_poor_village": True,
                                                         "population": 300}, headers=p.auth())
        r = await c.get(f"{API}/stats", params={"region": "430902"},
                        headers=p.auth(scopes=["registry:read"]))
        assert r.status_code == 200, r.text
        s = r.json()
        assert s["households"] == {"total": 2, "by_status": {"poor": 2},
                                   "by_attribute": {"dibao": 1, "general": 1},
                                   "by_primary_cause": {"illness": 1, "disaster": 1}}
        assert s["people"] == {"total": 4, "by_status": {"poor": 4},
                               "by_attribute": {"dibao": 2, "general": 2},
                               "by_primary_cause": {"illness": 2, "disaster": 2}}
        assert s["villages"] == [{"code": VILLAGE, "name": f"区划{VILLAGE}", "is_poor_village": True,
                                  "population": 300, "exited_year": None, "poor_people": 4,
                                  "incidence_percent": "1.33"}]
        whole = (await c.get(f"{API}/stats", headers=p.auth())).json()
        assert whole["households"]["total"] == 3
        assert [v["code"] for v in whole["villages"]] == [VILLAGE, OTHER_COUNTY_VILLAGE]
        assert whole["villages"][1]["incidence_percent"] is None

    async def test_scoped_to_callers_region(self, registry):
        p = registry
        await register(p)
        await register(p, household(OTHER_COUNTY_VILLAGE))
        r = await p.client("registry").get(f"{API}/stats", headers=p.auth(
            region="430903", scopes=["registry:read"]))
        assert r.json()["region"] == "430903"
        assert r.json()["households"]["total"] == 1
