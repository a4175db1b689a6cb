"""Sweeps: one set-based statement over a region's households; idempotent; scoped."""

import json

from tests.monitoring.helpers import (
    API,
    handled,
    income,
    monitoring_counts,
    project,
    publish,
    registered,
    set_line,
)
from tests.support.db import rows
from tests.support.factories import OTHER_COUNTY_VILLAGE


async def test_sweep_raises_once_per_household_below_its_line(monitoring):
    client, auth = monitoring.client("monitoring"), monitoring.auth()
    await set_line(client, auth, "6000", region="")
    await set_line(client, auth, "7500", region="430902", year=2023)
    await set_line(client, auth, "7500", region="430902")
    await client.put(f"{API}/rules/2026", json={"region_code": "430902", "due_days": 10},
                     headers=auth)
    low, mid, high, other_mid, none = (registered(), registered(), registered(),
                                       registered(village=OTHER_COUNTY_VILLAGE), registered())
    await project(monitoring, low, mid, high, other_mid, none)
    # Kept out of the rules group's way: incomes of 2023 would raise alerts by themselves, so
    # the sweep is checked on a year whose incomes arrive before its line is set.
    await publish(monitoring, income(low, 5000, year=2022), income(mid, 7000, year=2022),
                  income(high, 9000, year=2022), income(other_mid, 7000, year=2022),
                  income(low, 9000, year=2021))
    await handled(monitoring, "monitoring.registry", 10)
    await handled(monitoring, "monitoring.rules", 5)
    assert (await monitoring_counts(monitoring))["alerts"] == 0
    await set_line(client, auth, "6000", region="", year=2022)
    await set_line(client, auth, "7500", region="430902", year=2022)
    already = await client.post(f"{API}/signals", json={
        "household_id": low.household_id, "source": "self_report", "kind": "accident",
        "occurred_on": "2022-12-01"}, headers=auth)
    assert already.status_code == 201

    r = await client.post(f"{API}/sweeps", json={"year": 2022, "region": "43"}, headers=auth)
    assert r.status_code == 200, r.text
    assert r.json() == {"evaluated": 5, "alerts_raised": 1}  # mid; low already has one
    found = await rows(monitoring.runtime("monitoring"),
                       "SELECT id, household_id, kinds, status FROM alerts WHERE household_id "
                       "= :h", h=mid.household_id)
    assert json.loads(found[0].kinds) if isinstance(found[0].kinds, str) else found[0].kinds
    events = await rows(monitoring.runtime("monitoring"),
                        "SELECT key, payload FROM outbox WHERE type LIKE '%alert.raised' ORDER BY id")
    assert [e.key for e in events][-1] == mid.household_id
    assert json.loads(events[-1].payload)["data"]["alert_id"] == found[0].id
    alert = (await client.get(f"{API}/alerts/{found[0].id}", headers=auth)).json()
    assert alert["kinds"] == ["income_below_line"]
    assert alert["sources"] == ["automatic"]

    before = await monitoring_counts(monitoring)
    again = await client.post(f"{API}/sweeps", json={"year": 2022, "region": "43"},
                              headers=auth)
    assert again.json() == {"evaluated": 5, "alerts_raised": 0}
    counts = await monitoring_counts(monitoring)
    assert counts["alerts"] == before["alerts"]
    assert counts["outbox"] == before["outbox"]


async def test_sweep_counts_only_the_region(monitoring):
    client, auth = monitoring.client("monitoring"), monitoring.auth()
    a, b = registered(), registered(village=OTHER_COUNTY_VILLAGE)
    await project(monitoring, a, b)
    await publish(monitoring, income(a, 100, year=2020), income(b, 100, year=2020))
    await handled(monitoring, "monitoring.registry", 4)
    await set_line(client, auth, "4000", year=2020)
    r = await client.post(f"{API}/sweeps", json={"year": 2020, "region": "430903"},
                          headers=auth)
    assert r.json() == {"evaluated": 1, "alerts_raised": 1}
    found = await rows(monitoring.runtime("monitoring"), "SELECT household_id FROM alerts")
    assert [f.household_id for f in found] == [b.household_id]


class TestBadInput:
    async def _rejected(self, platform, body, status, code, headers=None):
        before = await monitoring_counts(platform)
        r = await platform.client("monitoring").post(f"{API}/sweeps", json=body,
                                                     headers=headers or platform.auth())
        assert r.status_code == status, r.text
        assert r.json()["errors"][0]["code"] == code
        assert await monitoring_counts(platform) == before

    async def test_region_outside_callers_scope_403(self, monitoring):
        await set_line(monitoring.client("monitoring"), monitoring.auth(), "6000")
        await self._rejected(monitoring, {"year": 2024, "region": "430903"}, 403,
                             "region_forbidden", headers=monitoring.auth(region="430902"))

    async def test_no_line_for_the_year(self, monitoring):
        await self._rejected(monitoring, {"year": 2030, "region": "43"}, 422,
                             "no_monitoring_line")

    async def test_bad_region_code(self, monitoring):
        await self._rejected(monitoring, {"year": 2024, "region": "4309x"}, 422,
                             "invalid_region_code")
