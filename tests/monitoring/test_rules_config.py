"""Monitoring lines and procedure rules: data by year and region prefix, longest prefix wins."""

from tests.monitoring.helpers import API, set_line
from tests.support.db import count


async def test_line_longest_prefix_wins(monitoring):
    client, auth = monitoring.client("monitoring"), monitoring.auth()
    await set_line(client, auth, "6000.00")
    await set_line(client, auth, "7500", region="43")
    await set_line(client, auth, "8050.5", region="430902")
    got = await client.get(f"{API}/lines/2024/effective?region=430902100201", headers=auth)
    assert got.json() == {"year": 2024, "region_code": "430902", "amount": "8050.50",
                          "version": 1}
    other = await client.get(f"{API}/lines/2024/effective?region=430903100201", headers=auth)
    assert other.json()["amount"] == "7500.00"
    national = await client.get(f"{API}/lines/2024/effective?region=440102", headers=auth)
    assert national.json()["amount"] == "6000.00"
    listed = await client.get(f"{API}/lines/2024", headers=auth)
    assert [i["region_code"] for i in listed.json()["items"]] == ["", "43", "430902"]
    r = await client.put(f"{API}/lines/2024", json={"region_code": "43", "amount": "7600"},
                         headers=auth)
    assert r.json()["version"] == 2
    assert r.headers["etag"] == '"2"'


async def test_no_line_for_the_year_422(monitoring):
    r = await monitoring.client("monitoring").get(f"{API}/lines/2031/effective?region=43",
                                                  headers=monitoring.auth())
    assert r.status_code == 422
    assert r.json()["errors"][0]["code"] == "no_monitoring_line"


async def test_rules_default_and_override(monitoring):
    client, auth = monitoring.client("monitoring"), monitoring.auth()
    default = (await client.get(f"{API}/rules/2024?region=430902100201", headers=auth)).json()
    assert default == {"year": 2024, "region_code": None, "due_days": 15, "working_days": False,
                       "min_monitoring_months": 6, "county_approval_required": False,
                       "min_notice_days": 5, "version": None}
    r = await client.put(f"{API}/rules/2024", json={"region_code": "43", "due_days": 20,
                                                    "working_days": True}, headers=auth)
    assert r.status_code == 200, r.text
    got = (await client.get(f"{API}/rules/2024?region=430902100201", headers=auth)).json()
    assert (got["region_code"], got["due_days"], got["working_days"],
            got["min_monitoring_months"]) == ("43", 20, True, 6)


class TestBadInput:
    async def _rejected(self, platform, path, body, status, code, headers=None):
        rt = platform.runtime("monitoring")
        before = (await count(rt, "monitoring_lines"), await count(rt, "monitoring_rules"),
                  await count(rt, "audit_log"))
        r = await platform.client("monitoring").put(path, json=body,
                                                    headers=headers or platform.auth())
        assert r.status_code == status, r.text
        assert r.json()["errors"][0]["code"] == code
        assert (await count(rt, "monitoring_lines"), await count(rt, "monitoring_rules"),
                await count(rt, "audit_log")) == before

    async def test_negative_amount(self, monitoring):
        await self._rejected(monitoring, f"{API}/lines/2024", {"region_code": "43",
                                                               "amount": "-1"},
                             422, "negative_amount")

    async def test_bad_region(self, monitoring):
        await self._rejected(monitoring, f"{API}/lines/2024", {"region_code": "4",
                                                               "amount": "1"},
                             422, "invalid_region_code")

    async def test_outside_region_403(self, monitoring):
        await self._rejected(monitoring, f"{API}/rules/2024", {"region_code": "44"}, 403,
                             "region_forbidden", headers=monitoring.auth(region="43"))

    async def test_unknown_field(self, monitoring):
        await self._rejected(monitoring, f"{API}/rules/2024", {"region_code": "43",
                                                               "days": 3},
                             422, "unknown_field")
