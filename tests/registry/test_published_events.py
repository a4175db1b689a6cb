"""Every registry write path publishes its contract event through the outbox relay, in order,
keyed by the aggregate, with no personal data; concurrent writers keep the invariants."""

import asyncio
import json

from shared.events.envelope import CloudEvent
from shared.events.topics import HOUSEHOLDS, REGIONS
from tests.registry.helpers import ALL_MET, API, INCOME, register
from tests.support.db import count, rows
from tests.support.factories import VILLAGE, household, member
from tests.support.platform import eventually


async def _published(p, topic: str, n: int) -> list:
    bus = p.runtime("registry").bus

    async def enough():
        records = await bus.read_topic(topic)
        return records if len(records) >= n else None

    return await eventually(enough)


async def _lifecycle(p, body: dict) -> dict:
    c, h = p.client("registry"), p.auth()
    hh = await register(p, body)
    hid = hh["id"]
    child = member("child", name="小明")
    steps = [
        c.patch(f"{API}/households/{hid}", json={"attribute": "dibao"}, headers=h),
        c.post(f"{API}/households/{hid}/members", json=child, headers=h),
        c.put(f"{API}/poverty-lines/2019", json={"region_code": "", "amount": "3000"}, headers=h),
        c.put(f"{API}/households/{hid}/incomes/2019", json=INCOME, headers=h),
        c.put(f"{API}/households/{hid}/guarantees", json=ALL_MET, headers=h),
        c.post(f"{API}/households/{hid}/exit", json={"year": 2019}, headers=h),
        c.post(f"{API}/households/{hid}/relapse", headers=h,
               json={"reason": "illness", "occurred_on": "2020-02-01"}),
    ]
    for step in steps:
        r = await step
        assert r.status_code < 300, r.text
    spouse = next(m for m in hh["members"] if m["relation"] == "spouse")
    r = await c.delete(f"{API}/households/{hid}/members/{spouse['id']}",
                       params={"reason": "moved_out"}, headers=h)
    assert r.status_code == 200
    return {**hh, "child": child}


async def test_household_events_published_in_order(registry):
    p = registry
    body = household()
    hh = await _lifecycle(p, body)
    records = await _published(p, HOUSEHOLDS, 8)
    events = [CloudEvent.from_bytes(r.value) for r in records]
    assert [e.type.rsplit(".", 1)[1] for e in events] == [
        "registered", "updated", "member_added", "income_recorded", "guarantees_assessed",
        "exited", "relapsed", "member_removed"]
    assert {r.key for r in records} == {hh["id"]}
    assert {e.regioncode for e in events} == {VILLAGE}
    for e in events:
        e.payload()  # every payload fits its registered model
    raw = b"".join(r.value for r in records).decode()
    for m in [*body["members"], hh["child"]]:
        assert m["id_number"] not in raw
        assert m["name"] not in raw
    counts = [json.loads(r.value)["data"].get("member_count") for r in records]
    assert counts[2] == 3
    assert counts[3] == 3
    assert counts[-1] == 2


async def _outbox_drained(rt) -> bool:
    return await count(rt, "outbox", "WHERE published_at IS NULL") == 0


async def test_region_events_published(registry):
    p = registry
    c = p.client("registry")
    r = await c.patch(f"{API}/regions/{VILLAGE}", json={"is_poor_village": True,
                                                        "population": 500}, headers=p.auth())
    assert r.status_code == 200
    assert (await c.post(f"{API}/regions/{VILLAGE}/exit", json={"year": 2020},
                         headers=p.auth())).status_code == 200
    await eventually(lambda: _outbox_drained(p.runtime("registry")))
    records = [r for r in await p.runtime("registry").bus.read_topic(REGIONS) if r.key == VILLAGE]
    types = [CloudEvent.from_bytes(r.value).type for r in records]
    assert types == ["cn.fupin.registry.region.created", "cn.fupin.registry.region.updated",
                     "cn.fupin.registry.region.exited"]


async def test_concurrent_registration_of_one_person_admits_one(registry):
    p = registry
    shared_person = member("spouse")
    bodies = [household(members=[member(), dict(shared_person)]) for _ in range(4)]
    results = await asyncio.gather(*[
        p.client("registry").post(f"{API}/households", json=b, headers=p.auth()) for b in bodies])
    codes = sorted(r.status_code for r in results)
    assert codes == [201, 409, 409, 409]
    assert await count(p.runtime("registry"), "households") == 1


async def test_concurrent_patches_with_one_etag_one_wins(registry):
    p = registry
    hh = await register(p)
    results = await asyncio.gather(*[
        p.client("registry").patch(f"{API}/households/{hh['id']}", json={"attribute": a},
                                   headers={**p.auth(), "If-Match": '"1"'})
        for a in ("dibao", "tekun", "dibao")])
    assert sorted(r.status_code for r in results) == [200, 412, 412]
    assert await count(p.runtime("registry"), "outbox",
                       "WHERE type = 'cn.fupin.registry.household.updated'") == 1


async def test_audit_log_holds_no_personal_data(registry):
    p = registry
    body = household()
    hh = await _lifecycle(p, body)
    audit = await rows(p.runtime("registry"), "SELECT action, actor, before, after FROM audit_log "
                                              "WHERE resource_id LIKE :h", h=f"{hh['id']}%")
    assert {a.action for a in audit} == {
        "household.register", "household.update", "household.member_add",
        "household.income_record", "household.exit", "household.relapse",
        "household.member_remove"}
    assert {a.actor for a in audit} == {"tester"}
    text = " ".join(f"{a.before} {a.after}" for a in audit)
    for m in [*body["members"], hh["child"]]:
        assert m["id_number"] not in text
        assert m["name"] not in text


async def test_exit_with_idempotency_key_replays(registry):
    p = registry
    c = p.client("registry")
    hh = await register(p)
    await c.put(f"{API}/poverty-lines/2019", json={"region_code": "", "amount": "3000"},
                headers=p.auth())
    await c.put(f"{API}/households/{hh['id']}/incomes/2019", json=INCOME, headers=p.auth())
    await c.put(f"{API}/households/{hh['id']}/guarantees", json=ALL_MET, headers=p.auth())
    h = {**p.auth(), "Idempotency-Key": "exit-1"}
    first = await c.post(f"{API}/households/{hh['id']}/exit", json={"year": 2019}, headers=h)
    again = await c.post(f"{API}/households/{hh['id']}/exit", json={"year": 2019}, headers=h)
    assert first.status_code == again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert await count(p.runtime("registry"), "status_changes") == 1
    assert await count(p.runtime("registry"), "outbox",
                       "WHERE type = 'cn.fupin.registry.household.exited'") == 1
