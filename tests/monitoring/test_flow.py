"""The whole path through the registry's real API, registry and monitoring as separate apps:
an income below the line → alert → enrol → measure → income above the line → eliminate."""

import json

import pytest

from tests.monitoring.helpers import API, set_line
from tests.support.db import rows
from tests.support.factories import household, region_tree
from tests.support.platform import eventually

REG = "/api/v1/registry"
GUARANTEES_OK = {"food": True, "clothing": True, "compulsory_education": True,
                 "basic_medical": True, "housing_safety": True, "drinking_water": True,
                 "assessed_on": "2024-03-01"}


def _income(wage: str) -> dict:
    return {"wage": wage, "business": "0", "property": "0", "transfer": "0",
            "business_cost": "0"}


@pytest.fixture
async def both(platform):
    await platform.start("registry", "monitoring", separate=True)
    await region_tree(platform.client("registry"), platform.auth())
    return platform


async def test_income_below_line_to_risk_eliminated(both):
    reg, mon, auth = both.client("registry"), both.client("monitoring"), both.auth()
    await set_line(mon, auth, "7500", region="43")
    created = await reg.post(f"{REG}/households", json=household(), headers=auth)
    assert created.status_code == 201, created.text
    hid = created.json()["id"]
    r = await reg.put(f"{REG}/households/{hid}/incomes/2024", json=_income("10000"),
                      headers=auth)
    assert r.status_code in (200, 201), r.text  # 5,000 元 per person for two members
    assert (await reg.put(f"{REG}/households/{hid}/guarantees", json=GUARANTEES_OK,
                          headers=auth)).status_code == 200

    async def raised():
        items = (await mon.get(f"{API}/alerts?status=open", headers=auth)).json()["items"]
        return [a for a in items if a["household_id"] == hid]

    (alert,) = await eventually(raised)
    assert alert["kinds"] == ["income_below_line"]
    assert alert["region_code"] == created.json()["village_code"]
    case = await mon.post(f"{API}/alerts/{alert['id']}/enroll", json={
        "category": "unstable", "risk_types": ["illness"], "decided_on": "2024-01-10"},
        headers=auth)
    assert case.status_code == 201, case.text
    case_id = case.json()["id"]
    measure = await mon.post(f"{API}/cases/{case_id}/measures", json={
        "kind": "employment", "description": "公益性岗位", "started_on": "2024-01-20"},
        headers=auth)
    assert measure.status_code == 201

    refused = await mon.post(f"{API}/cases/{case_id}/eliminate",
                             json={"decided_on": "2024-08-01"}, headers=auth)
    assert [e["code"] for e in refused.json()["errors"]] == ["income_below_line"]
    r = await reg.put(f"{REG}/households/{hid}/incomes/2024", json=_income("20000"),
                      headers=auth)
    assert r.status_code in (200, 201), r.text

    async def eliminated():
        r = await mon.post(f"{API}/cases/{case_id}/eliminate", json={"decided_on": "2024-08-01"},
                           headers=auth)
        return r.json() if r.status_code == 200 else None

    done = await eventually(eliminated)
    assert done["status"] == "eliminated"
    types = [json.loads(e.payload)["type"] for e in await rows(
        both.runtime("monitoring"), "SELECT payload FROM outbox WHERE key = :h ORDER BY id",
        h=hid)]
    assert types == ["cn.fupin.monitoring.alert.raised", "cn.fupin.monitoring.case.enrolled",
                     "cn.fupin.monitoring.case.measure_added",
                     "cn.fupin.monitoring.case.risk_eliminated"]
    # No second alert from the second (higher) income record.
    assert (await mon.get(f"{API}/stats", headers=auth)).json()["alerts"]["total"] == 1
