"""Yearly income, guarantees, exit (脱贫) against the standard, relapse (返贫), history."""

import pytest

from tests.registry.helpers import ALL_MET, API, INCOME, error_code, events, register, snapshot_counts
from tests.support.db import count, rows
from tests.support.factories import household, member

STATE = ("households", "incomes", "guarantee_assessments", "status_changes", "audit_log")


async def _line(p, year=2019, amount="3000.00", region_code=""):
    r = await p.client("registry").put(f"{API}/poverty-lines/{year}", headers=p.auth(),
                                       json={"region_code": region_code, "amount": amount})
    assert r.status_code == 200, r.text


async def _income(p, hid, year=2019, body=None):
    return await p.client("registry").put(f"{API}/households/{hid}/incomes/{year}",
                                          json=body or INCOME, headers=p.auth())


async def _guarantees(p, hid, **changes):
    return await p.client("registry").put(f"{API}/households/{hid}/guarantees",
                                          json={**ALL_MET, **changes}, headers=p.auth())


async def _exit(p, hid, year=2019):
    return await p.client("registry").post(f"{API}/households/{hid}/exit", json={"year": year},
                                           headers=p.auth())


class TestIncome:
    async def test_net_and_per_capita_rounded_half_up(self, registry):
        p = registry
        h = await register(p, household(members=[member(), member("spouse"), member("child")]))
        body = {"wage": "100.00", "business": "0", "property": "0", "transfer": "0.01",
                "business_cost": "0"}
        r = await _income(p, h["id"], body=body)
        assert r.status_code == 201, r.text
        # 100.01 / 3 = 33.3366... -> 33.34
        assert (r.json()["net_income"], r.json()["per_capita_net_income"]) == ("100.01", "33.34")
        r = await _income(p, h["id"], body={**body, "transfer": "0.50"})
        assert r.json()["per_capita_net_income"] == "33.50"  # 100.50 / 3, exact
        r = await _income(p, h["id"], body={**body, "wage": "0.05", "transfer": "0"})
        assert r.json()["per_capita_net_income"] == "0.02"  # 0.05 / 3 = 0.01666 -> 0.02

    async def test_half_fen_rounds_up(self, registry):
        p = registry
        h = await register(p)  # two members
        body = {"wage": "0.01", "business": "0", "property": "0", "transfer": "0",
                "business_cost": "0"}
        r = await _income(p, h["id"], body=body)
        assert r.json()["per_capita_net_income"] == "0.01"  # 0.005 -> 0.01

    async def test_one_row_per_year_replace_is_audited_and_evented(self, registry):
        p = registry
        h = await register(p)
        first = await _income(p, h["id"])
        assert first.status_code == 201
        second = await _income(p, h["id"], body={**INCOME, "wage": "9000"})
        assert second.status_code == 200
        assert second.json()["version"] == 2
        assert second.json()["net_income"] == "12200.50"
        assert await count(p.runtime("registry"), "incomes") == 1
        audit = await rows(p.runtime("registry"), "SELECT action FROM audit_log "
                                                  "WHERE action = 'household.income_record'")
        assert len(audit) == 2
        recorded = await events(p, "household.income_recorded")
        assert [e["per_capita_net_income_fen"] for e in recorded] == [560025, 610025]
        assert recorded[1]["member_count"] == 2
        assert recorded[1]["net_income_fen"] == 1220050
        listed = await p.client("registry").get(f"{API}/households/{h['id']}/incomes",
                                                headers=p.auth())
        assert [i["year"] for i in listed.json()] == [2019]

    async def test_per_capita_uses_current_members(self, registry):
        p = registry
        h = await register(p)
        spouse = next(m for m in h["members"] if m["relation"] == "spouse")
        await p.client("registry").delete(f"{API}/households/{h['id']}/members/{spouse['id']}",
                                          params={"reason": "death"}, headers=p.auth())
        r = await _income(p, h["id"])
        assert r.json()["member_count"] == 1
        assert r.json()["per_capita_net_income"] == r.json()["net_income"]

    @pytest.mark.parametrize(("change", "code"), [
        ({"wage": "-1"}, "negative_amount"), ({"business": "10.005"}, "too_many_decimals"),
        ({"transfer": 1.001}, "too_many_decimals"), ({"property": None}, "invalid_amount"),
        ({"bonus": "1"}, "unknown_field")])
    async def test_bad_money_stores_nothing(self, registry, change, code):
        p = registry
        h = await register(p)
        before = await snapshot_counts(p, *STATE)
        r = await _income(p, h["id"], body={**INCOME, **change})
        assert r.status_code == 422
        assert error_code(r) == code
        assert await snapshot_counts(p, *STATE) == before

    async def test_missing_part_422(self, registry):
        p = registry
        h = await register(p)
        body = dict(INCOME)
        del body["business_cost"]
        r = await _income(p, h["id"], body=body)
        assert r.status_code == 422
        assert error_code(r) == "required"


class TestGuarantees:
    async def test_history_kept_latest_wins(self, registry):
        p = registry
        h = await register(p)
        r = await _guarantees(p, h["id"], housing_safety=False, drinking_water=False,
                              assessed_on="2019-03-01")
        assert r.status_code == 200, r.text
        assert r.json()["unmet"] == ["housing_safety", "drinking_water"]
        await _guarantees(p, h["id"], assessed_on="2019-09-01")
        listed = await p.client("registry").get(f"{API}/households/{h['id']}/guarantees",
                                                headers=p.auth())
        assert [a["assessed_on"] for a in listed.json()] == ["2019-09-01", "2019-03-01"]
        assessed = await events(p, "household.guarantees_assessed")
        assert [e["unmet"] for e in assessed] == [["housing_safety", "drinking_water"], []]
        assert assessed[0]["housing_safety"] is False
        assert assessed[0]["food"] is True

    async def test_non_boolean_or_missing_date_422(self, registry):
        p = registry
        h = await register(p)
        before = await snapshot_counts(p, *STATE)
        r = await _guarantees(p, h["id"], food="maybe")
        assert r.status_code == 422
        assert error_code(r) == "bool_parsing"
        body = dict(ALL_MET)
        del body["assessed_on"]
        r = await p.client("registry").put(f"{API}/households/{h['id']}/guarantees", json=body,
                                           headers=p.auth())
        assert error_code(r) == "required"
        assert await snapshot_counts(p, *STATE) == before


class TestExit:
    async def test_exit_when_standard_met(self, registry):
        p = registry
        h = await register(p)
        await _line(p)
        await _income(p, h["id"])
        await _guarantees(p, h["id"])
        r = await _exit(p, h["id"])
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "exited"
        [event] = await events(p, "household.exited")
        assert event == {"household_id": h["id"], "region_code": h["village_code"], "year": 2019,
                         "per_capita_net_income_fen": 560025, "poverty_line_fen": 300000}
        history = await p.client("registry").get(f"{API}/households/{h['id']}/history",
                                                 headers=p.auth(scopes=["registry:read"]))
        [change] = history.json()
        assert (change["from_status"], change["to_status"], change["year"], change["actor"]) == (
            "poor", "exited", 2019, "tester")

    async def test_every_unmet_condition_listed(self, registry):
        p = registry
        h = await register(p)
        await _guarantees(p, h["id"], food=False, basic_medical=False)
        before = await snapshot_counts(p, *STATE)
        r = await _exit(p, h["id"])
        assert r.status_code == 422
        errors = [(e["code"], e["field"]) for e in r.json()["errors"]]
        assert errors == [("no_income_record", "year"), ("no_poverty_line", "year"),
                          ("guarantee_unmet", "food"), ("guarantee_unmet", "basic_medical")]
        assert await snapshot_counts(p, *STATE) == before

    async def test_income_must_exceed_the_line(self, registry):
        p = registry
        h = await register(p)
        await _line(p, amount="5600.25")  # per capita is exactly 5600.25: not above
        await _income(p, h["id"])
        await _guarantees(p, h["id"], drinking_water=False)
        before = await snapshot_counts(p, *STATE)
        r = await _exit(p, h["id"])
        assert r.status_code == 422
        assert [(e["code"], e["field"]) for e in r.json()["errors"]] == [
            ("income_below_line", "per_capita_net_income"), ("guarantee_unmet", "drinking_water")]
        assert await snapshot_counts(p, *STATE) == before
        got = await p.client("registry").get(f"{API}/households/{h['id']}", headers=p.auth())
        assert got.json()["status"] == "poor"

    async def test_local_line_overrides_national(self, registry):
        p = registry
        h = await register(p)
        await _line(p, amount="3000")
        await _line(p, amount="6000", region_code="430902")
        await _income(p, h["id"])
        await _guarantees(p, h["id"])
        r = await _exit(p, h["id"])
        assert [e["code"] for e in r.json()["errors"]] == ["income_below_line"]

    async def test_not_assessed_lists_all_six(self, registry):
        p = registry
        h = await register(p)
        await _line(p)
        await _income(p, h["id"])
        r = await _exit(p, h["id"])
        assert [e["field"] for e in r.json()["errors"]] == [
            "food", "clothing", "compulsory_education", "basic_medical", "housing_safety",
            "drinking_water"]

    async def test_already_exited_422(self, registry):
        p = registry
        h = await register(p)
        await _line(p)
        await _income(p, h["id"])
        await _guarantees(p, h["id"])
        assert (await _exit(p, h["id"])).status_code == 200
        r = await _exit(p, h["id"])
        assert r.status_code == 422
        assert error_code(r) == "already_exited"


class TestRelapse:
    async def test_relapse_after_exit_then_exit_again(self, registry):
        p = registry
        h = await register(p)
        await _line(p)
        await _income(p, h["id"])
        await _guarantees(p, h["id"])
        await _exit(p, h["id"])
        r = await p.client("registry").post(f"{API}/households/{h['id']}/relapse", headers=p.auth(),
                                            json={"reason": "disaster", "occurred_on": "2020-07-01"})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "relapsed"
        [event] = await events(p, "household.relapsed")
        assert event == {"household_id": h["id"], "region_code": h["village_code"],
                         "reason": "disaster", "occurred_on": "2020-07-01"}
        await _line(p, year=2021, amount="4000")
        await _income(p, h["id"], year=2021)
        assert (await _exit(p, h["id"], year=2021)).status_code == 200
        history = await p.client("registry").get(f"{API}/households/{h['id']}/history",
                                                 headers=p.auth())
        assert [(c["from_status"], c["to_status"]) for c in history.json()] == [
            ("poor", "exited"), ("exited", "relapsed"), ("relapsed", "exited")]

    async def test_never_exited_422(self, registry):
        p = registry
        h = await register(p)
        before = await snapshot_counts(p, *STATE)
        r = await p.client("registry").post(f"{API}/households/{h['id']}/relapse", headers=p.auth(),
                                            json={"reason": "illness", "occurred_on": "2020-01-01"})
        assert r.status_code == 422
        assert error_code(r) == "not_exited"
        assert await snapshot_counts(p, *STATE) == before

    async def test_reason_must_be_a_cause_code(self, registry):
        p = registry
        h = await register(p)
        r = await p.client("registry").post(f"{API}/households/{h['id']}/relapse", headers=p.auth(),
                                            json={"reason": "bad_luck", "occurred_on": "2020-01-01"})
        assert r.status_code == 422
        assert error_code(r) == "invalid_enum"
