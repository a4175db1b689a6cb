"""Signals: matched by household id or by ID number (blind index), kept when unmatched,
matched by hand later; bad input stores and publishes nothing."""

import json

from tests.monitoring.helpers import API, monitoring_counts, new_id_number, project, registered
from tests.support.db import rows
from tests.support.factories import OTHER_COUNTY_VILLAGE


def _signal(**overrides):
    body = {"source": "cadre_visit", "kind": "serious_illness", "occurred_on": "2024-05-02",
            "amount": "12000.50", "detail": "户主确诊重病"}
    body.update(overrides)
    return body


class TestMatching:
    async def test_by_household_raises_alert_and_publishes(self, monitoring):
        h = registered()
        await project(monitoring, h)
        client = monitoring.client("monitoring")
        r = await client.post(f"{API}/signals", json=_signal(household_id=h.household_id),
                              headers=monitoring.auth())
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["alert_id"]
        assert body["household_id"] == h.household_id
        assert body["amount"] == "12000.50"
        alert = (await client.get(f"{API}/alerts/{body['alert_id']}",
                                  headers=monitoring.auth())).json()
        assert alert["kinds"] == ["serious_illness"]
        assert alert["sources"] == ["cadre_visit"]
        types = [r.type for r in await rows(monitoring.runtime("monitoring"),
                                            "SELECT type FROM outbox ORDER BY id")]
        assert types == ["cn.fupin.monitoring.alert.raised",
                         "cn.fupin.monitoring.signal.received"]

    async def test_by_id_number_through_blind_index(self, monitoring):
        number = new_id_number()
        rt = monitoring.runtime("monitoring")
        h = registered(id_hashes=[rt.cipher.blind_index(number), "other"])
        await project(monitoring, h)
        r = await monitoring.client("monitoring").post(
            f"{API}/signals", json=_signal(id_number=number, source="department",
                                           department="medical_insurance",
                                           kind="high_medical_expense"),
            headers=monitoring.auth())
        assert r.status_code == 201, r.text
        assert r.json()["household_id"] == h.household_id
        assert r.json()["alert_id"]
        stored = await rows(rt, "SELECT * FROM signals")
        assert number not in json.dumps([list(map(str, s)) for s in stored])
        outbox = await rows(rt, "SELECT payload FROM outbox")
        assert all(number not in o.payload for o in outbox)

    async def test_second_signal_adds_to_the_open_alert(self, monitoring):
        h = registered()
        await project(monitoring, h)
        client, auth = monitoring.client("monitoring"), monitoring.auth()
        first = await client.post(f"{API}/signals", json=_signal(household_id=h.household_id),
                                  headers=auth)
        second = await client.post(f"{API}/signals", json=_signal(
            household_id=h.household_id, source="self_report", kind="disaster"), headers=auth)
        assert first.json()["alert_id"] == second.json()["alert_id"]
        alert = (await client.get(f"{API}/alerts/{first.json()['alert_id']}",
                                  headers=auth)).json()
        assert alert["kinds"] == ["serious_illness", "disaster"]
        assert alert["sources"] == ["cadre_visit", "self_report"]
        assert (await monitoring_counts(monitoring))["alerts"] == 1

    async def test_unmatched_kept_listed_and_matched_by_hand(self, monitoring):
        h = registered()
        await project(monitoring, h)
        client, auth = monitoring.client("monitoring"), monitoring.auth(region="430902")
        r = await client.post(f"{API}/signals", json=_signal(id_number=new_id_number()),
                              headers=auth)
        assert r.status_code == 201
        assert r.json()["alert_id"] is None
        assert (await monitoring_counts(monitoring))["alerts"] == 0
        listed = await client.get(f"{API}/signals?matched=false", headers=auth)
        assert [s["id"] for s in listed.json()["items"]] == [r.json()["id"]]
        matched = await client.post(f"{API}/signals/{r.json()['id']}/match",
                                    json={"household_id": h.household_id}, headers=auth)
        assert matched.status_code == 200, matched.text
        assert matched.json()["alert_id"]
        assert matched.json()["household_id"] == h.household_id
        assert (await client.get(f"{API}/signals?matched=false", headers=auth)).json()[
            "items"] == []
        again = await client.post(f"{API}/signals/{r.json()['id']}/match",
                                  json={"household_id": h.household_id}, headers=auth)
        assert again.status_code == 409
        assert again.json()["errors"][0]["code"] == "signal_already_matched"

    async def test_household_of_another_region_is_not_matched_by_id_number(self, monitoring):
        number = new_id_number()
        rt = monitoring.runtime("monitoring")
        h = registered(village=OTHER_COUNTY_VILLAGE, id_hashes=[rt.cipher.blind_index(number),
                                                                "x"])
        await project(monitoring, h)
        r = await monitoring.client("monitoring").post(
            f"{API}/signals", json=_signal(id_number=number),
            headers=monitoring.auth(region="430902"))
        assert r.status_code == 201
        assert r.json()["alert_id"] is None


class TestBadInput:
    async def _rejected(self, platform, body, status, code, headers=None):
        before = await monitoring_counts(platform)
        r = await platform.client("monitoring").post(f"{API}/signals", json=body,
                                                     headers=headers or platform.auth())
        assert r.status_code == status, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"][0]["code"] == code
        assert await monitoring_counts(platform) == before
        return r

    async def test_neither_household_nor_id_number(self, monitoring):
        await self._rejected(monitoring, _signal(), 422, "household_or_id_number_required")

    async def test_invalid_id_number(self, monitoring):
        good = new_id_number()
        bad = good[:17] + ("0" if good[17] != "0" else "1")
        r = await self._rejected(monitoring, _signal(id_number=bad), 422, "invalid_id_number")
        assert bad not in r.text

    async def test_unknown_household(self, monitoring):
        await self._rejected(monitoring, _signal(household_id="no-such-household"), 422,
                             "unknown_household")

    async def test_household_outside_callers_region_is_unknown(self, monitoring):
        h = registered(village=OTHER_COUNTY_VILLAGE)
        await project(monitoring, h)
        await self._rejected(monitoring, _signal(household_id=h.household_id), 422,
                             "unknown_household", headers=monitoring.auth(region="430902"))

    async def test_department_required_for_department_source(self, monitoring):
        h = registered()
        await project(monitoring, h)
        await self._rejected(monitoring, _signal(household_id=h.household_id,
                                                 source="department"),
                             422, "department_required")

    async def test_unknown_enum_values(self, monitoring):
        h = registered()
        await project(monitoring, h)
        await self._rejected(monitoring, _signal(household_id=h.household_id, kind="ghosts"),
                             422, "invalid_enum")
        await self._rejected(monitoring, _signal(household_id=h.household_id, source="rumour"),
                             422, "invalid_enum")

    async def test_read_only_scope_403(self, monitoring):
        h = registered()
        await project(monitoring, h)
        await self._rejected(monitoring, _signal(household_id=h.household_id), 403,
                             "missing_scope", headers=monitoring.auth(scopes=["monitoring:read"]))

    async def test_match_unknown_household(self, monitoring):
        client = monitoring.client("monitoring")
        r = await client.post(f"{API}/signals", json=_signal(id_number=new_id_number()),
                              headers=monitoring.auth())
        before = await monitoring_counts(monitoring)
        m = await client.post(f"{API}/signals/{r.json()['id']}/match",
                              json={"household_id": "nope"}, headers=monitoring.auth())
        assert m.status_code == 422
        assert m.json()["errors"][0]["code"] == "unknown_household"
        assert await monitoring_counts(monitoring) == before
