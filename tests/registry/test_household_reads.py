"""The read path of households: one statement per read (household with its members), the
page by village, and GET requests that may not write (PostgreSQL reads run in autocommit)."""

import pytest
import sqlalchemy as sa

from tests.registry.helpers import API, register
from tests.support.db import count
from tests.support.factories import OTHER_COUNTY_VILLAGE, VILLAGE, household, member


async def _get(p, path, params=None, **auth):
    r = await p.client("registry").get(f"{API}{path}", params=params or {},
                                       headers=p.auth(**auth))
    assert r.status_code == 200, r.text
    return r


async def test_read_equals_what_registration_returned(registry):
    p = registry
    body = household(primary_cause="illness", secondary_causes=["disaster", "lack_water"],
                     members=[member(name="李四"), member("spouse", name="王芳"),
                              member("child", name="李小")])
    made = await register(p, body)
    r = await _get(p, f"/households/{made['id']}")
    assert r.json() == made
    assert r.headers["etag"] == f'"{made["version"]}"'
    assert made["secondary_causes"] == ["disaster", "lack_water"]
    assert [m["name"] for m in made["members"]] == ["李四", "王芳", "李小"]
    plain = await _get(p, f"/households/{made['id']}", scopes=["registry:read"])
    numbers = [m["id_number"] for m in body["members"]]
    assert [m["id_number"] for m in plain.json()["members"]] == [
        n[:6] + "********" + n[-4:] for n in numbers]
    assert not any(n in plain.text for n in numbers)
    none = await register(p, household(secondary_causes=[]))
    assert (await _get(p, f"/households/{none['id']}")).json()["secondary_causes"] == []


async def test_removed_members_are_read_with_their_removal(registry):
    p = registry
    made = await register(p, household(members=[member(), member("child", name="甲")]))
    child = made["members"][1]["id"]
    r = await p.client("registry").delete(
        f"{API}/households/{made['id']}/members/{child}", params={"reason": "moved_out"},
        headers=p.auth())
    assert r.status_code == 200, r.text
    got = (await _get(p, f"/households/{made['id']}")).json()
    assert [m["removed_reason"] for m in got["members"]] == [None, "moved_out"]
    assert got["members"][1]["removed_on"] is not None
    assert got["version"] == made["version"] + 1
    listed = (await _get(p, "/households", {"region": VILLAGE})).json()["items"]
    assert listed == [got]


async def test_unknown_and_foreign_households_are_404(registry):
    p = registry
    other = await register(p, household(OTHER_COUNTY_VILLAGE))
    r = await p.client("registry").get(f"{API}/households/no-such-id", headers=p.auth())
    assert r.status_code == 404
    r = await p.client("registry").get(f"{API}/households/{other['id']}",
                                       headers=p.auth(region="430902",
                                                      scopes=["registry:read"]))
    assert r.status_code == 404


async def test_page_by_village_code_pages_members_and_scope(registry):
    p = registry
    mine = [await register(p, household(members=[member(), member("spouse")]))
            for _ in range(5)]
    await register(p, household(OTHER_COUNTY_VILLAGE))
    by_id = {h["id"]: h for h in mine}
    seen, cursor = [], None
    while True:
        params = {"region": VILLAGE, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await _get(p, "/households", params)).json()
        assert len(page["items"]) <= 2
        seen += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert [h["id"] for h in seen] == sorted(by_id)
    assert all(h == by_id[h["id"]] for h in seen)  # members and all fields as registered
    exact = (await _get(p, "/households", {"region": VILLAGE, "limit": 5})).json()
    assert len(exact["items"]) == 5 and exact["next_cursor"] is None
    village_caller = (await _get(p, "/households", scopes=["registry:read"],
                                 region=VILLAGE)).json()
    assert [h["id"] for h in village_caller["items"]] == sorted(by_id)
    r = await p.client("registry").get(
        f"{API}/households", params={"region": OTHER_COUNTY_VILLAGE},
        headers=p.auth(region=VILLAGE, scopes=["registry:read"]))
    assert r.status_code == 403
    filtered = (await _get(p, "/households", {"region": VILLAGE, "status": "exited"})).json()
    assert filtered == {"items": [], "next_cursor": None}


def test_read_statements_and_writes_are_told_apart():
    from shared.web import _is_read

    assert _is_read("SELECT households.id FROM households WHERE households.id = $1")
    assert _is_read("  select 1")
    assert _is_read("SELECT id FROM households FOR UPDATE")
    assert _is_read("WITH page AS (SELECT id FROM households) SELECT * FROM page")
    assert not _is_read("INSERT INTO audit_log (id) VALUES ($1)")
    assert not _is_read("UPDATE households SET version=$1")
    assert not _is_read("DELETE FROM outbox WHERE id = $1")
    assert not _is_read("WITH gone AS (DELETE FROM outbox RETURNING id) SELECT * FROM gone")
    assert not _is_read("SELECT nextval('outbox_id_seq')")
    assert not _is_read("TRUNCATE outbox")


async def test_a_get_that_writes_stays_atomic(registry):
    """Reads run on autocommit connections on PostgreSQL, where a write would commit at
    once: it is refused before it is sent, and the route runs in a transaction instead (now
    and later), so a GET that writes and then fails leaves nothing behind."""
    from shared.errors import NotFound
    from shared.web import TxDep, service_router

    p = registry
    router = service_router("registry")
    insert = sa.text("INSERT INTO regions (code, name, level, is_poor_village, version, "
                     "created_at) VALUES (:code, 'x', 'county', false, 1, CURRENT_TIMESTAMP)")

    @router.get("/test-only/writes/{code}")
    async def writes(code: str, tx: TxDep) -> dict:
        await tx.session.execute(insert, {"code": code})
        if code.endswith("9"):
            raise NotFound("区划")
        return {"code": code}

    p.apps["registry"].include_router(router)
    client, before = p.client("registry"), await count(p.runtime("registry"), "regions")
    failed = await client.get(f"{API}/test-only/writes/439999", headers=p.auth())
    assert failed.status_code == 404
    assert await count(p.runtime("registry"), "regions") == before  # rolled back
    for code in ("439998", "439997"):
        r = await client.get(f"{API}/test-only/writes/{code}", headers=p.auth())
        assert (r.status_code, r.json()) == (200, {"code": code})
    assert await count(p.runtime("registry"), "regions") == before + 2
    made = await register(p)  # the pooled connections serve writes and reads as before
    assert (await _get(p, f"/households/{made['id']}")).json() == made


def test_reads_are_refused_nothing_but_writes_on_postgresql_connections():
    """The guard only applies to connections opened for a GET (the fupin_read_only option)."""
    from shared.web import ReadOnlyViolation, _refuse_writes

    class Conn:
        def __init__(self, read_only: bool) -> None:
            self.options = {"fupin_read_only": True} if read_only else {}

        def get_execution_options(self) -> dict:
            return self.options

    write = "INSERT INTO outbox (id) VALUES ($1)"
    _refuse_writes(Conn(False), None, write, (), None, False)
    _refuse_writes(Conn(True), None, "SELECT 1", (), None, False)
    with pytest.raises(ReadOnlyViolation):
        _refuse_writes(Conn(True), None, write, (), None, False)
