"""The registration flow the foundation stands on: validated, stored, audited, published."""

import json

import pytest

from tests.support.db import count, rows
from tests.support.factories import OTHER_COUNTY_VILLAGE, VILLAGE, household, id_number, member, region_tree


@pytest.fixture
async def registry(platform):
    await platform.start("registry")
    client = platform.client("registry")
    await region_tree(client, platform.auth())
    await region_tree(client, platform.auth(), OTHER_COUNTY_VILLAGE)
    return platform


async def _nothing_written(platform, households_before: int, outbox_before: int) -> None:
    rt = platform.runtime("registry")
    assert await count(rt, "households") == households_before
    assert await count(rt, "outbox") == outbox_before


class TestRegister:
    async def test_registers_stores_audits_and_publishes(self, registry):
        client, rt = registry.client("registry"), registry.runtime("registry")
        body = household()
        r = await client.post("/api/v1/registry/households", json=body, headers=registry.auth())
        assert r.status_code == 201, r.text
        data = r.json()
        assert data["status"] == "poor"
        assert data["household_no"].startswith(VILLAGE)
        assert r.headers["etag"] == '"1"'
        head = next(m for m in data["members"] if m["relation"] == "head")
        assert head["id_number"] == body["members"][0]["id_number"]  # admin token has pii:read
        number = body["members"][0]["id_number"]
        assert head["birth_date"] == f"{number[6:10]}-{number[10:12]}-{number[12:14]}"
        assert head["sex"] == "male"

        stored = await rows(rt, "SELECT id_cipher, id_hash FROM members")
        assert all(body["members"][0]["id_number"] not in r.id_cipher for r in stored)
        audit = await rows(rt, "SELECT actor, action, after FROM audit_log "
                               "WHERE resource_type = 'household'")
        assert [(a.actor, a.action) for a in audit] == [("tester", "household.register")]
        assert body["members"][0]["id_number"] not in json.dumps(audit[0].after)
        events = await rows(rt, "SELECT type, key, payload FROM outbox "
                                "WHERE type LIKE '%household%'")
        assert [e.type for e in events] == ["cn.fupin.registry.household.registered"]
        assert events[0].key == data["id"]
        payload = json.loads(events[0].payload)
        assert payload["regioncode"] == VILLAGE and payload["subject"] == data["id"]
        for m in body["members"]:
            assert m["id_number"] not in events[0].payload and m["name"] not in events[0].payload

    async def test_masks_without_pii_read(self, registry):
        client = registry.client("registry")
        body = household()
        r = await client.post("/api/v1/registry/households", json=body, headers=registry.auth())
        reader = registry.auth(scopes=["registry:read"])
        got = await client.get(f"/api/v1/registry/households/{r.json()['id']}", headers=reader)
        assert got.status_code == 200
        number = body["members"][0]["id_number"]
        shown = got.json()["members"][0]["id_number"]
        assert shown == number[:6] + "********" + number[-4:]

    async def test_read_back(self, registry):
        client = registry.client("registry")
        r = await client.post("/api/v1/registry/households", json=household(),
                              headers=registry.auth())
        got = await client.get(f"/api/v1/registry/households/{r.json()['id']}",
                               headers=registry.auth())
        assert got.json() == r.json()


class TestAuth:
    async def test_no_token_401(self, registry):
        r = await registry.client("registry").post("/api/v1/registry/households", json=household())
        assert r.status_code == 401
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"][0]["code"] == "missing_token"

    async def test_bad_token_401(self, registry):
        r = await registry.client("registry").get(
            "/api/v1/registry/regions/43", headers={"Authorization": "Bearer not.a.jwt"})
        assert r.status_code == 401 and r.json()["errors"][0]["code"] == "invalid_token"

    async def test_token_signed_with_another_secret_401(self, registry):
        from shared.auth import TokenCodec

        forged = TokenCodec("another-secret-of-at-least-thirty-two-bytes").mint(sub="x", scopes=["admin"])
        r = await registry.client("registry").get(
            "/api/v1/registry/regions/43", headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 401

    async def test_wrong_scope_403(self, registry):
        rt = registry.runtime("registry")
        before = await count(rt, "households"), await count(rt, "outbox")
        r = await registry.client("registry").post(
            "/api/v1/registry/households", json=household(),
            headers=registry.auth(scopes=["registry:read", "funds:write"]))
        assert r.status_code == 403 and r.json()["errors"][0]["code"] == "missing_scope"
        await _nothing_written(registry, *before)

    async def test_read_outside_region_404(self, registry):
        client = registry.client("registry")
        r = await client.post("/api/v1/registry/households", json=household(),
                              headers=registry.auth())
        other_county = registry.auth(region="430903", scopes=["registry:read"])
        got = await client.get(f"/api/v1/registry/households/{r.json()['id']}",
                               headers=other_county)
        assert got.status_code == 404
        same = await client.get(f"/api/v1/registry/households/{r.json()['id']}",
                                headers=registry.auth(region="430902", scopes=["registry:read"]))
        assert same.status_code == 200

    async def test_create_outside_region_403(self, registry):
        rt = registry.runtime("registry")
        before = await count(rt, "households"), await count(rt, "outbox")
        r = await registry.client("registry").post(
            "/api/v1/registry/households", json=household(OTHER_COUNTY_VILLAGE),
            headers=registry.auth(region="430902", scopes=["registry:write"]))
        assert r.status_code == 403 and r.json()["errors"][0]["code"] == "region_forbidden"
        await _nothing_written(registry, *before)


class TestBadInput:
    async def _rejected(self, registry, body=None, *, content=None, headers=None):
        rt = registry.runtime("registry")
        before = await count(rt, "households"), await count(rt, "outbox")
        h = {**registry.auth(), **(headers or {})}
        if content is not None:
            r = await registry.client("registry").post("/api/v1/registry/households",
                                                       content=content, headers=h)
        else:
            r = await registry.client("registry").post("/api/v1/registry/households", json=body,
                                                       headers=h)
        await _nothing_written(registry, *before)
        assert r.headers["content-type"] == "application/problem+json"
        return r

    async def test_invalid_id_number(self, registry):
        good = id_number()
        bad = good[:17] + ("0" if good[17] != "0" else "1")
        r = await self._rejected(registry, household(members=[member(id_number=bad)]))
        assert r.status_code == 422
        err = r.json()["errors"][0]
        assert err["code"] == "invalid_id_number" and err["field"] == "members.0.id_number"
        assert bad not in r.text

    async def test_duplicate_person_in_another_household(self, registry):
        first = household()
        r = await registry.client("registry").post("/api/v1/registry/households", json=first,
                                                   headers=registry.auth())
        assert r.status_code == 201
        again = household(members=[member(id_number=first["members"][1]["id_number"])])
        r = await self._rejected(registry, again)
        assert r.status_code == 409
        assert r.json()["errors"][0]["code"] == "person_already_registered"

    async def test_duplicate_person_within_one_body(self, registry):
        number = id_number()
        r = await self._rejected(registry, household(members=[
            member(id_number=number), member("child", id_number=number)]))
        assert r.status_code == 409

    async def test_unknown_village(self, registry):
        r = await self._rejected(registry, household("430902100299"))
        assert r.status_code == 422 and r.json()["errors"][0]["code"] == "unknown_village"

    async def test_not_a_village(self, registry):
        r = await self._rejected(registry, household("430902100"))
        assert r.status_code == 422 and r.json()["errors"][0]["code"] == "not_a_village"

    async def test_no_head_or_two_heads(self, registry):
        r = await self._rejected(registry, household(members=[member("spouse")]))
        assert r.status_code == 422 and r.json()["errors"][0]["code"] == "head_count"
        r = await self._rejected(registry, household(members=[member(), member()]))
        assert r.json()["errors"][0]["code"] == "head_count"

    async def test_unknown_enum(self, registry):
        r = await self._rejected(registry, household(attribute="rich"))
        assert r.status_code == 422
        assert r.json()["errors"][0] == {"code": "invalid_enum", "field": "attribute",
                                         "detail": r.json()["errors"][0]["detail"]}

    async def test_malformed_json(self, registry):
        r = await self._rejected(registry, content=b'{"village_code": ',
                                 headers={"content-type": "application/json"})
        assert r.status_code == 422 and r.json()["errors"][0]["code"] == "malformed_json"

    async def test_oversized_body(self, registry):
        big = json.dumps(household(detail="x" * 2_000_000)).encode()
        r = await self._rejected(registry, content=big,
                                 headers={"content-type": "application/json"})
        assert r.status_code == 413 and r.json()["errors"][0]["code"] == "body_too_large"


class TestIdempotency:
    async def test_same_key_same_body_replays(self, registry):
        client, rt = registry.client("registry"), registry.runtime("registry")
        body, h = household(), {**registry.auth(), "Idempotency-Key": "k-1"}
        first = await client.post("/api/v1/registry/households", json=body, headers=h)
        second = await client.post("/api/v1/registry/households", json=body, headers=h)
        assert first.status_code == second.status_code == 201
        assert first.json() == second.json()
        assert second.headers["idempotent-replayed"] == "true"
        assert await count(rt, "households") == 1

    async def test_same_key_other_body_422(self, registry):
        client, rt = registry.client("registry"), registry.runtime("registry")
        h = {**registry.auth(), "Idempotency-Key": "k-2"}
        assert (await client.post("/api/v1/registry/households", json=household(),
                                  headers=h)).status_code == 201
        r = await client.post("/api/v1/registry/households", json=household(), headers=h)
        assert r.status_code == 422
        assert r.json()["errors"][0]["code"] == "idempotency_key_reused"
        assert await count(rt, "households") == 1


class TestRegions:
    async def test_parent_must_exist(self, registry):
        r = await registry.client("registry").post(
            "/api/v1/registry/regions", json={"code": "440102", "name": "某区"},
            headers=registry.auth())
        assert r.status_code == 422 and r.json()["errors"][0]["code"] == "unknown_parent"

    async def test_duplicate_409(self, registry):
        r = await registry.client("registry").post(
            "/api/v1/registry/regions", json={"code": "43", "name": "湖南省"},
            headers=registry.auth())
        assert r.status_code == 409

    async def test_level_derives_from_code(self, registry):
        r = await registry.client("registry").get("/api/v1/registry/regions/430902100",
                                                  headers=registry.auth())
        assert r.json()["level"] == "township" and r.json()["parent_code"] == "430902"
