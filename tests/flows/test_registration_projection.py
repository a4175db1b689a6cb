"""The thin real flow across services: registry registers a household, its outbox relay
publishes, monitoring's consumer keeps a projection. Registry and monitoring run as separate
apps with separate databases and separate bus connections."""

import pytest

from tests.support.db import count, rows
from tests.support.factories import household, region_tree
from tests.support.platform import eventually


@pytest.fixture
async def two_services(platform):
    await platform.start("registry", "monitoring", separate=True)
    await region_tree(platform.client("registry"), platform.auth())
    return platform


async def test_registered_household_reaches_monitoring(two_services):
    p = two_services
    body = household()
    r = await p.client("registry").post("/api/v1/registry/households", json=body,
                                        headers=p.auth())
    assert r.status_code == 201
    hid = r.json()["id"]
    mon = p.runtime("monitoring")
    assert p.apps["registry"] is not p.apps["monitoring"]
    assert p.database_urls["registry"] != p.database_urls["monitoring"]

    async def projected():
        return await rows(mon, "SELECT household_id, region_code, member_count, status "
                               "FROM household_view WHERE household_id = :h", h=hid)

    view = await eventually(projected)
    assert (view[0].region_code, view[0].member_count, view[0].status) == (
        body["village_code"], 2, "poor")
    members = await rows(mon, "SELECT id_hash FROM member_view WHERE household_id = :h", h=hid)
    assert len(members) == 2
    expected = {p.runtime("registry").cipher.blind_index(m["id_number"]) for m in body["members"]}
    assert {m.id_hash for m in members} == expected
    assert await count(mon, "inbox") == 1
    await eventually(lambda: _outbox_drained(p.runtime("registry")))


async def test_rejected_registration_publishes_nothing(two_services):
    p = two_services
    ok = await p.client("registry").post("/api/v1/registry/households", json=household(),
                                         headers=p.auth())
    assert ok.status_code == 201
    bad = household(village_code="430902100299")
    r = await p.client("registry").post("/api/v1/registry/households", json=bad, headers=p.auth())
    assert r.status_code == 422
    mon = p.runtime("monitoring")
    await eventually(lambda: count(mon, "household_view"))
    await eventually(lambda: _outbox_drained(p.runtime("registry")))
    from shared.events.topics import HOUSEHOLDS

    published = await p.runtime("registry").bus.read_topic(HOUSEHOLDS)
    assert len(published) == 1
    assert await count(mon, "household_view") == 1


async def _outbox_drained(rt) -> bool:
    return await count(rt, "outbox", "WHERE published_at IS NULL") == 0
