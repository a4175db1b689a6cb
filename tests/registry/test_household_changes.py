"""Changing a household: attributes and causes, the head, members joining and leaving."""

import pytest

from tests.registry.helpers import API, error_code, events, register, snapshot_counts
from tests.support.db import rows
from tests.support.factories import household, id_number, member

TABLES = ("households", "members", "audit_log")


def _head(data):
    return next(m for m in data["members"] if m["relation"] == "head" and not m["removed_on"])


class TestPatch:
    async def test_changes_attribute_and_causes_with_if_match(self, registry):
        p = registry
        h = await register(p)
        r = await p.client("registry").patch(
            f"{API}/households/{h['id']}", headers={**p.auth(), "If-Match": '"1"'},
            json={"attribute": "dibao", "primary_cause": "disability",
                  "secondary_causes": ["lack_labor", "illness"]})
        assert r.status_code == 200, r.text
        assert r.headers["etag"] == '"2"'
        assert (r.json()["attribute"], r.json()["primary_cause"]) == ("dibao", "disability")
        assert r.json()["secondary_causes"] == ["lack_labor", "illness"]
        [event] = await events(p, "household.updated")
        assert event["changed"] == ["attribute", "primary_cause", "secondary_causes"]
        assert event["version"] == 2
        assert event["head_member_id"] == _head(h)["id"]

    async def test_stale_if_match_412_changes_nothing(self, registry):
        p = registry
        h = await register(p)
        before = await snapshot_counts(p, *TABLES)
        r = await p.client("registry").patch(
            f"{API}/households/{h['id']}", headers={**p.auth(), "If-Match": '"7"'},
            json={"attribute": "tekun"})
        assert r.status_code == 412
        assert error_code(r) == "stale_version"
        assert await snapshot_counts(p, *TABLES) == before
        got = await p.client("registry").get(f"{API}/households/{h['id']}", headers=p.auth())
        assert got.json()["attribute"] == "general"

    @pytest.mark.parametrize(("body", "code"), [
        ({"attribute": "rich"}, "invalid_enum"),
        ({"secondary_causes": ["illness"]}, "duplicate_cause"),
        ({"secondary_causes": ["lack_land", "lack_water", "other"]}, "too_long"),
        ({"head_member_id": "nobody"}, "unknown_member"),
        ({"colour": "red"}, "unknown_field"),
    ])
    async def test_bad_patch_422(self, registry, body, code):
        p = registry
        h = await register(p)
        before = await snapshot_counts(p, *TABLES)
        r = await p.client("registry").patch(f"{API}/households/{h['id']}", json=body,
                                             headers=p.auth())
        assert r.status_code == 422
        assert error_code(r) == code
        assert await snapshot_counts(p, *TABLES) == before

    async def test_change_of_head(self, registry):
        p = registry
        h = await register(p)
        spouse = next(m for m in h["members"] if m["relation"] == "spouse")
        r = await p.client("registry").patch(
            f"{API}/households/{h['id']}", headers=p.auth(),
            json={"head_member_id": spouse["id"], "former_head_relation": "spouse"})
        assert r.status_code == 200, r.text
        relations = {m["id"]: m["relation"] for m in r.json()["members"]}
        assert relations[spouse["id"]] == "head"
        assert relations[_head(h)["id"]] == "spouse"
        [event] = await events(p, "household.updated")
        assert event["changed"] == ["head"]
        assert event["head_member_id"] == spouse["id"]

    async def test_outside_region_404(self, registry):
        p = registry
        h = await register(p)
        r = await p.client("registry").patch(
            f"{API}/households/{h['id']}", json={"attribute": "dibao"},
            headers=p.auth(region="430903", scopes=["registry:write"]))
        assert r.status_code == 404


class TestMembers:
    async def test_add_member_emits_count(self, registry):
        p = registry
        h = await register(p)
        body = member("child", name="张小", id_number=id_number(female=True))
        r = await p.client("registry").post(f"{API}/households/{h['id']}/members", json=body,
                                            headers=p.auth(scopes=["registry:write"]))
        assert r.status_code == 201, r.text
        assert r.json()["id_number"] == body["id_number"][:6] + "********" + body["id_number"][-4:]
        assert r.json()["sex"] == "female"
        assert r.headers["etag"] == '"2"'
        [event] = await events(p, "household.member_added")
        assert event["member_count"] == 3
        assert event["member"]["member_id"] == r.json()["id"]
        assert body["id_number"] not in str(event)
        assert "张小" not in str(event)

    async def test_remove_member_keeps_history(self, registry):
        p = registry
        h = await register(p)
        spouse = next(m for m in h["members"] if m["relation"] == "spouse")
        r = await p.client("registry").delete(
            f"{API}/households/{h['id']}/members/{spouse['id']}", params={"reason": "death"},
            headers=p.auth())
        assert r.status_code == 200, r.text
        assert r.json()["removed_reason"] == "death"
        assert r.json()["removed_on"] is not None
        stored = await rows(p.runtime("registry"),
                            "SELECT removed_reason FROM members WHERE id = :m", m=spouse["id"])
        assert stored[0].removed_reason == "death"
        [event] = await events(p, "household.member_removed")
        assert (event["member_id"], event["reason"], event["member_count"]) == (
            spouse["id"], "death", 1)
        got = await p.client("registry").get(f"{API}/households/{h['id']}", headers=p.auth())
        assert len(got.json()["members"]) == 2

    async def test_removed_person_may_join_another_household(self, registry):
        p = registry
        h = await register(p)
        spouse = next(m for m in h["members"] if m["relation"] == "spouse")
        await p.client("registry").delete(f"{API}/households/{h['id']}/members/{spouse['id']}",
                                          params={"reason": "married_out"}, headers=p.auth())
        number = household()["members"][0]["id_number"]
        other = await register(p, household(members=[member(id_number=number)]))
        r = await p.client("registry").post(
            f"{API}/households/{other['id']}/members", headers=p.auth(),
            json=member("spouse", id_number=h["members"][1]["id_number"]))
        assert r.status_code == 201, r.text

    async def test_removing_the_head_is_refused_until_another_is_set(self, registry):
        p = registry
        h = await register(p)
        head, spouse = _head(h), next(m for m in h["members"] if m["relation"] == "spouse")
        before = await snapshot_counts(p, *TABLES)
        r = await p.client("registry").delete(f"{API}/households/{h['id']}/members/{head['id']}",
                                              params={"reason": "death"}, headers=p.auth())
        assert r.status_code == 422
        assert error_code(r) == "head_removal"
        assert await snapshot_counts(p, *TABLES) == before
        await p.client("registry").patch(f"{API}/households/{h['id']}", headers=p.auth(),
                                         json={"head_member_id": spouse["id"]})
        r = await p.client("registry").delete(f"{API}/households/{h['id']}/members/{head['id']}",
                                              params={"reason": "death"}, headers=p.auth())
        assert r.status_code == 200

    async def test_removing_twice_409(self, registry):
        p = registry
        h = await register(p)
        spouse = next(m for m in h["members"] if m["relation"] == "spouse")
        url = f"{API}/households/{h['id']}/members/{spouse['id']}"
        assert (await p.client("registry").delete(url, params={"reason": "other"},
                                                  headers=p.auth())).status_code == 200
        r = await p.client("registry").delete(url, params={"reason": "other"}, headers=p.auth())
        assert r.status_code == 409
        assert error_code(r) == "member_already_removed"

    async def test_unknown_reason_422(self, registry):
        p = registry
        h = await register(p)
        spouse = next(m for m in h["members"] if m["relation"] == "spouse")
        before = await snapshot_counts(p, *TABLES)
        r = await p.client("registry").delete(f"{API}/households/{h['id']}/members/{spouse['id']}",
                                              params={"reason": "vanished"}, headers=p.auth())
        assert r.status_code == 422
        assert error_code(r) == "invalid_enum"
        assert await snapshot_counts(p, *TABLES) == before


class TestAddMemberBadInput:
    async def _rejected(self, p, body):
        h = await register(p)
        before = await snapshot_counts(p, *TABLES)
        r = await p.client("registry").post(f"{API}/households/{h['id']}/members", json=body,
                                            headers=p.auth())
        assert await snapshot_counts(p, *TABLES) == before
        return r

    async def test_invalid_check_digit(self, registry):
        good = id_number()
        bad = good[:17] + ("0" if good[17] != "0" else "1")
        r = await self._rejected(registry, member("child", id_number=bad))
        assert r.status_code == 422
        assert error_code(r) == "invalid_id_number"
        assert bad not in r.text

    async def test_impossible_birth_date(self, registry):
        from shared.idnumber import check_digit

        first17 = "43090219800230001"  # 30 February
        r = await self._rejected(registry, member("child", id_number=first17 + check_digit(first17)))
        assert r.status_code == 422
        assert error_code(r) == "invalid_id_number"

    async def test_person_in_another_household_409(self, registry):
        other = await register(registry)
        r = await self._rejected(registry, member("child",
                                                  id_number=other["members"][0]["id_number"]))
        assert r.status_code == 409
        assert error_code(r) == "person_already_registered"

    async def test_second_head_422(self, registry):
        r = await self._rejected(registry, member("head"))
        assert r.status_code == 422
        assert error_code(r) == "head_count"

    async def test_unknown_enum_422(self, registry):
        r = await self._rejected(registry, member("child", health="immortal"))
        assert r.status_code == 422
        assert error_code(r) == "invalid_enum"
