"""Registry statistics from maintained counters (`household_stats`): after every kind of write
the counters, and so `GET /stats`, equal what the old per-request aggregate over households
and members gives (`search.stats_from_base`, the oracle); the migration backfills them and
`counters.rebuild` repairs them."""

from __future__ import annotations

import asyncio
import uuid

import sqlalchemy as sa

from services.registry.api.schemas_records import StatsRead
from services.registry.domain import counters, search
from tests.registry.helpers import ALL_MET, API, INCOME, register
from tests.support.db import count
from tests.support.factories import OTHER_COUNTY_VILLAGE, VILLAGE, household, member, region_tree
from tests.support.p3b_imports import csv_file, household_rows, upload

SAME_TOWN_VILLAGE = "430902100202"
REGIONS = ["", "43", "4309", "430902", "430903", "430902100", VILLAGE, SAME_TOWN_VILLAGE,
           OTHER_COUNTY_VILLAGE, "4310", "44"]


async def _in_tx(p, work):
    rt = p.runtime("registry")
    async with rt.sessionmaker() as session:
        tx = rt.new_tx(session, actor="test")
        try:
            return await work(tx)
        finally:
            await session.rollback()


async def _assert_counters_match_base(p) -> None:
    """Every counter row equals the base tables, and the API answer equals the oracle's for
    every region prefix (same fields, same numbers, same village list)."""
    assert await _in_tx(p, counters.differences) == []
    client = p.client("registry")
    for region in REGIONS:
        r = await client.get(f"{API}/stats", params={"region": region} if region else {},
                             headers=p.auth(scopes=["registry:read"]))
        assert r.status_code == 200, r.text
        oracle = await _in_tx(p, lambda tx, region=region: search.stats_from_base(tx, region=region))
        assert r.json() == StatsRead.model_validate(oracle).model_dump(mode="json"), region


async def _exit(p, hid: str, year: int = 2019) -> None:
    c = p.client("registry")
    r = await c.put(f"{API}/households/{hid}/incomes/{year}", json=INCOME, headers=p.auth())
    assert r.status_code in (200, 201), r.text
    r = await c.put(f"{API}/households/{hid}/guarantees", json=ALL_MET, headers=p.auth())
    assert r.status_code in (200, 201), r.text
    r = await c.post(f"{API}/households/{hid}/exit", json={"year": year}, headers=p.auth())
    assert r.status_code == 200, r.text


async def _patch(p, h: dict, body: dict) -> dict:
    current = await p.client("registry").get(f"{API}/households/{h['id']}", headers=p.auth())
    r = await p.client("registry").patch(
        f"{API}/households/{h['id']}", json=body,
        headers={**p.auth(), "If-Match": current.headers["etag"]})
    assert r.status_code == 200, r.text
    return r.json()


async def _remove(p, h: dict, member_id: str) -> None:
    r = await p.client("registry").delete(f"{API}/households/{h['id']}/members/{member_id}",
                                          params={"reason": "moved_out"}, headers=p.auth())
    assert r.status_code == 200, r.text


class TestCountersFollowEveryWrite:
    async def test_varied_registry_counters_equal_the_old_aggregate(self, registry):
        p = registry
        c = p.client("registry")
        await region_tree(c, p.auth(), SAME_TOWN_VILLAGE)
        r = await c.put(f"{API}/poverty-lines/2019", headers=p.auth(),
                        json={"region_code": "", "amount": "3000.00"})
        assert r.status_code == 200, r.text
        await _assert_counters_match_base(p)  # empty registry: zeros, no village listed

        # Imports: strict (statuses and attributes from the file), and partial with a bad
        # household and a re-run that skips what is already imported.
        strict = (household_rows(size=3) + household_rows(SAME_TOWN_VILLAGE, size=1, 脱贫状态="已脱贫")
                  + household_rows(size=2, 脱贫状态="返贫", 贫困户属性="低保贫困户"))
        r = await upload(c, p.auth(), csv_file(strict))
        assert r.status_code == 201, r.text
        good = household_rows(OTHER_COUNTY_VILLAGE, size=2, 致贫原因="因灾")
        bad = household_rows(size=2)
        bad[1]["身份证号"] = "123"
        partial = csv_file(good + bad + household_rows(SAME_TOWN_VILLAGE, size=4))
        r = await upload(c, p.auth(), partial, mode="partial")
        assert r.status_code == 201, r.text
        assert (r.json()["imported"], r.json()["rejected"]) == (2, 1)
        r = await upload(c, p.auth(), partial, mode="partial")
        assert r.json()["already_imported"] == 2
        # A rejected strict import stores nothing, counters included.
        r = await upload(c, p.auth(), csv_file(household_rows(size=2) + bad))
        assert r.status_code == 422
        await _assert_counters_match_base(p)

        # Registrations: three attributes, several causes, 1 to 4 members, three villages.
        h1 = await register(p, household(attribute="dibao", members=[member(), member("child")]))
        h2 = await register(p, household(primary_cause="disaster", secondary_causes=[],
                                         members=[member(), member("spouse"), member("child"),
                                                  member("parent")]))
        h3 = await register(p, household(SAME_TOWN_VILLAGE, attribute="tekun",
                                         members=[member(), member("spouse")]))
        h4 = await register(p, household(OTHER_COUNTY_VILLAGE, members=[member()]))
        h5 = await register(p, household(SAME_TOWN_VILLAGE, primary_cause="lack_land",
                                         secondary_causes=[], members=[member()]))
        h6 = await register(p, household(members=[member(), member("child")]))
        await _assert_counters_match_base(p)

        # Members joining and leaving; a head change, then the former head leaves.
        r = await c.post(f"{API}/households/{h1['id']}/members", json=member("parent"),
                         headers=p.auth())
        assert r.status_code == 201, r.text
        spouse = next(m for m in h2["members"] if m["relation"] == "spouse")
        await _remove(p, h2, spouse["id"])
        head3 = next(m for m in h3["members"] if m["relation"] == "head")
        other3 = next(m for m in h3["members"] if m["relation"] == "spouse")
        await _patch(p, h3, {"head_member_id": other3["id"], "former_head_relation": "other"})
        await _remove(p, h3, head3["id"])
        await _assert_counters_match_base(p)

        # PATCH of a dimension (attribute, primary cause) and of a non-dimension.
        await _patch(p, h4, {"attribute": "tekun", "primary_cause": "disability"})
        await _patch(p, h5, {"secondary_causes": ["illness"]})
        await _patch(p, h6, {"primary_cause": "education", "secondary_causes": []})
        await _assert_counters_match_base(p)

        # Status changes: exits, a relapse, an exit after the relapse.
        await _exit(p, h1["id"])
        await _exit(p, h6["id"])
        await _exit(p, h4["id"])
        r = await c.post(f"{API}/households/{h6['id']}/relapse", headers=p.auth(),
                         json={"reason": "disaster", "occurred_on": "2020-07-01"})
        assert r.status_code == 200, r.text
        r = await c.post(f"{API}/households/{h4['id']}/relapse", headers=p.auth(),
                         json={"reason": "illness", "occurred_on": "2020-08-01"})
        assert r.status_code == 200, r.text
        r = await c.put(f"{API}/poverty-lines/2021", headers=p.auth(),
                        json={"region_code": "", "amount": "3000.00"})
        assert r.status_code == 200, r.text
        await _exit(p, h4["id"], year=2021)
        await _assert_counters_match_base(p)

        # Village attributes change the incidence list, not the counters.
        r = await c.patch(f"{API}/regions/{VILLAGE}", headers=p.auth(),
                          json={"is_poor_village": True, "population": 300})
        assert r.status_code == 200, r.text
        await _assert_counters_match_base(p)

        # Figures worked out by hand for one village, so the oracle is not the only judge:
        # VILLAGE holds h1 (dibao, exited, 3 people), h2 (poor, disaster, 3), h6 (relapsed,
        # education, 2), and the strict import's 3-member poor household and 2-member
        # relapsed dibao household.
        s = (await c.get(f"{API}/stats", params={"region": VILLAGE}, headers=p.auth())).json()
        assert s["households"]["total"] == 5
        assert s["households"]["by_status"] == {"exited": 1, "poor": 2, "relapsed": 2}
        assert s["people"]["by_status"] == {"exited": 3, "poor": 6, "relapsed": 4}
        assert s["people"]["by_attribute"] == {"dibao": 5, "general": 8}
        assert s["villages"] == [{
            "code": VILLAGE, "name": f"区划{VILLAGE}", "is_poor_village": True,
            "population": 300, "exited_year": None, "poor_people": 10,
            "incidence_percent": "3.33"}]
        assert await count(p.runtime("registry"), "household_stats") > 0

    async def test_concurrent_writes_to_one_village_keep_the_counters_right(self, registry):
        """Writers of the same village recompute one after the other (on PostgreSQL under the
        bucket lock), so none misses another's committed rows and none fails."""
        p = registry
        c = p.client("registry")
        homes = [await register(p, household(members=[member()])) for _ in range(4)]

        async def add(h):
            return await c.post(f"{API}/households/{h['id']}/members", json=member("child"),
                                headers=p.auth())

        async def new():
            return await c.post(f"{API}/households", json=household(members=[member()]),
                                headers=p.auth())

        results = await asyncio.gather(*(add(h) for h in homes), *(new() for _ in range(3)))
        assert [r.status_code for r in results] == [201] * 7, [r.text for r in results]
        await _assert_counters_match_base(p)
        s = (await c.get(f"{API}/stats", params={"region": VILLAGE}, headers=p.auth())).json()
        assert (s["households"]["total"], s["people"]["total"]) == (7, 11)


class TestRepair:
    async def test_stats_read_the_counters_and_rebuild_repairs_them(self, registry):
        p = registry
        rt = p.runtime("registry")
        await register(p, household(members=[member(), member("child")]))
        await register(p, household(OTHER_COUNTY_VILLAGE, members=[member()]))
        # Counters lost (as on a database restored without them): the answer follows the
        # counters, and `differences` reports every missing row.
        async with rt.engine.begin() as conn:
            for table in ("household_stats", "county_stats", "village_poor_people"):
                await conn.execute(sa.text(f"DELETE FROM {table}"))
        for region in ("", VILLAGE):
            r = await p.client("registry").get(f"{API}/stats", params={"region": region},
                                               headers=p.auth())
            assert r.json()["households"]["total"] == 0
            assert r.json()["villages"] == []
        missing = await _in_tx(p, counters.differences)
        assert {(table, key[0], stored, base) for table, key, stored, base in missing} == {
            ("household_stats", VILLAGE, None, (1, 2)),
            ("household_stats", OTHER_COUNTY_VILLAGE, None, (1, 1)),
            ("county_stats", VILLAGE[:6], None, (1, 2)),
            ("county_stats", OTHER_COUNTY_VILLAGE[:6], None, (1, 1)),
            ("village_poor_people", VILLAGE, None, (2,)),
            ("village_poor_people", OTHER_COUNTY_VILLAGE, None, (1,))}

        async def refresh_both(tx):  # several villages at once (several lock buckets)
            assert counters.bucket_of(VILLAGE) != counters.bucket_of(OTHER_COUNTY_VILLAGE)
            await counters.refresh(tx, [OTHER_COUNTY_VILLAGE, VILLAGE])
            await tx.session.commit()

        await _in_tx(p, refresh_both)
        await _assert_counters_match_base(p)
        async with rt.engine.begin() as conn:
            for table in ("household_stats", "county_stats", "village_poor_people"):
                await conn.execute(sa.text(f"DELETE FROM {table}"))

        async def rebuild(tx):
            written = await counters.rebuild(tx)
            await tx.session.commit()
            return written

        assert await _in_tx(p, rebuild) == 2
        await _assert_counters_match_base(p)
        r = await p.client("registry").get(f"{API}/stats", headers=p.auth())
        assert (r.json()["households"]["total"], r.json()["people"]["total"]) == (2, 3)


class TestMigration:
    async def test_upgrade_backfills_the_counters_from_existing_rows(self, platform, request,
                                                                     tmp_path):
        """A database at the previous revision with households in it: the upgrade creates
        household_stats filled from those rows (removed members and empty households
        included correctly)."""
        from services.registry.service import definition
        from shared.db import create_engine
        from shared.migrate import upgrade

        name = None
        if platform.real:
            import asyncpg

            servers = request.getfixturevalue("servers")
            name = f"t_registry_mig_{uuid.uuid4().hex[:10]}"
            admin = await asyncpg.connect(servers.pg_admin_dsn)
            await admin.execute(f'CREATE DATABASE "{name}"')
            await admin.close()
            url = servers.pg_url(name)
        else:
            url = f"sqlite+aiosqlite:///{tmp_path / 'migrate.db'}"
        engine = create_engine(url, pool_size=1)
        try:
            await upgrade(engine, definition.migrations, "2dcb52ff5cdf")
            async with engine.begin() as conn:
                for hid, village, status, attribute in (
                        ("h1", VILLAGE, "poor", "general"), ("h2", VILLAGE, "poor", "general"),
                        ("h3", VILLAGE, "exited", "dibao"),
                        ("h4", OTHER_COUNTY_VILLAGE, "poor", "general")):
                    await conn.execute(sa.text(
                        "INSERT INTO households (id, household_no, region_code, status, "
                        "attribute, identified_year, primary_cause, secondary_causes, version, "
                        "created_at, updated_at) VALUES (:id, :no, :v, :s, :a, 2016, 'illness', "
                        "'[]', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                        {"id": hid, "no": f"no-{hid}", "v": village, "s": status, "a": attribute})
                for mid, hid, removed in (("m1", "h1", False), ("m2", "h1", False),
                                          ("m3", "h2", False), ("m4", "h2", True),
                                          ("m5", "h3", False)):  # h4 has no member
                    await conn.execute(sa.text(
                        "INSERT INTO members (id, household_id, name, id_cipher, id_hash, "
                        "relation, labor_ability, health, schooling, sex, birth_date, "
                        "removed_on, created_at) VALUES (:id, :h, 'x', 'c', :id, 'head', "
                        "'normal', 'healthy', 'none', 'male', :born, :removed, "
                        "CURRENT_TIMESTAMP)"),
                        {"id": mid, "h": hid, "born": _date(1980, 1, 1),
                         "removed": _date(2020, 1, 1) if removed else None})
            await upgrade(engine, definition.migrations)
            async with engine.connect() as conn:
                found = (await conn.execute(sa.text(
                    "SELECT village_code, status, attribute, primary_cause, households, people "
                    "FROM household_stats ORDER BY 1, 2, 3"))).all()
                county = (await conn.execute(sa.text(
                    "SELECT county_code, status, attribute, households, people "
                    "FROM county_stats ORDER BY 1, 2, 3"))).all()
                poor = (await conn.execute(sa.text(
                    "SELECT village_code, poor_people FROM village_poor_people"))).all()
            assert [tuple(r) for r in found] == [
                (VILLAGE, "exited", "dibao", "illness", 1, 1),
                (VILLAGE, "poor", "general", "illness", 2, 3),
                (OTHER_COUNTY_VILLAGE, "poor", "general", "illness", 1, 0),
            ]
            assert [tuple(r) for r in county] == [
                ("430902", "exited", "dibao", 1, 1), ("430902", "poor", "general", 2, 3),
                ("430903", "poor", "general", 1, 0)]
            assert [tuple(r) for r in poor] == [(VILLAGE, 3)]  # none in a village of 0
        finally:
            await engine.dispose()
            if name is not None:
                from tests.support.databases import drop

                await drop(request.getfixturevalue("servers"), name)


def _date(*parts: int):
    import datetime as dt

    return dt.date(*parts)


def test_incidence_percent_in_integers_equals_the_decimal_rounding():
    """`_percent` computes in integers; it must give exactly what the Decimal half-up
    rounding gave, exact halves included."""
    from decimal import ROUND_HALF_UP, Decimal

    cases = [(p, w) for w in (1, 2, 3, 7, 8, 16, 40, 300, 333, 800, 1600, 2999, 80_000)
             for p in (0, 1, 2, 3, 5, 7, 8, 16, 33, 100, 299, 300, 301, 999, 1001, w, 3 * w)]
    cases += [(1, 8), (1, 16 * 10**3), (5, 4_000_000), (10**13, 3), (2, -3)]
    for part, whole in cases:
        expected = str((Decimal(part * 100) / whole).quantize(Decimal("0.01"), ROUND_HALF_UP))
        assert search._percent(part, whole) == expected, (part, whole)
    assert search._percent(3, 0) is None
    assert search._percent(3, None) is None
