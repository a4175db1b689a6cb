"""结对帮扶 and coverage, from the projection of registry and monitoring events.

Registry runs as its own app: households are registered, exited and relapsed through its real
API; monitoring enrolments are published onto the bus with the monitoring payload models (the
monitoring service is written in parallel)."""

import datetime as dt

import pytest
import sqlalchemy as sa

from services.tasks.service import definition
from shared.events.monitoring import CaseEnrolled, RiskEliminated
from shared.replay import replay_projection
from tests.support.db import count, rows
from tests.support.factories import OTHER_COUNTY_VILLAGE, household, region_tree
from tests.support.platform import eventually
from tests.tasks.helpers import COUNTY, VILLAGE, TasksApi, publish

REG = "/api/v1/registry"
ALL_MET = {"food": True, "clothing": True, "compulsory_education": True, "basic_medical": True,
           "housing_safety": True, "drinking_water": True, "assessed_on": "2019-10-01"}
INCOME = {"wage": "9000.00", "business": "0", "property": "0", "transfer": "0",
          "business_cost": "0"}


@pytest.fixture
async def both(platform):
    await platform.start("registry", "tasks", separate=True)
    reg = platform.client("registry")
    await region_tree(reg, platform.auth())
    await region_tree(reg, platform.auth(), OTHER_COUNTY_VILLAGE)
    r = await reg.put(f"{REG}/poverty-lines/2019", headers=platform.auth(),
                      json={"region_code": "", "amount": "3000.00"})
    assert r.status_code == 200, r.text
    return TasksApi(platform)


async def _register(api, village: str = VILLAGE) -> str:
    r = await api.p.client("registry").post(f"{REG}/households", json=household(village),
                                            headers=api.auth())
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def _exit(api, hid: str) -> None:
    reg, auth = api.p.client("registry"), api.auth()
    assert (await reg.put(f"{REG}/households/{hid}/incomes/2019", json=INCOME,
                          headers=auth)).status_code in (200, 201)
    assert (await reg.put(f"{REG}/households/{hid}/guarantees", json=ALL_MET,
                          headers=auth)).status_code in (200, 201)
    r = await reg.post(f"{REG}/households/{hid}/exit", json={"year": 2019}, headers=auth)
    assert r.status_code == 200, r.text


async def _status(api, hid: str, wanted: str):
    async def check():
        found = await rows(api.rt, "SELECT status, monitored FROM household_view "
                                   "WHERE household_id = :h", h=hid)
        return found and found[0].status == wanted and found[0]
    return await eventually(check)


async def _uncovered(api, **params) -> list[str]:
    r = await api.get("/pairings/coverage", params=params)
    assert r.status_code == 200, r.text
    return [h["household_id"] for h in r.json()["items"]]


async def test_coverage_and_pairing(both):
    api = both
    poor, exited, relapsed, monitored = [await _register(api) for _ in range(4)]
    for hid in (exited, relapsed, monitored):
        await _exit(api, hid)
    r = await api.p.client("registry").post(
        f"{REG}/households/{relapsed}/relapse", headers=api.auth(),
        json={"reason": "disaster", "occurred_on": "2020-07-01"})
    assert r.status_code == 200, r.text
    enrolled = CaseEnrolled(case_id="case-1", alert_id="alert-1", household_id=monitored,
                            region_code=VILLAGE, category="unstable", risk_types=["illness"],
                            decided_on=dt.date(2030, 1, 5))
    await publish(api.p, enrolled, service="monitoring", subject="case-1", region_code=VILLAGE)
    await _status(api, relapsed, "relapsed")
    await _status(api, exited, "exited")
    await eventually(lambda: _monitored(api, monitored))

    assert sorted(await _uncovered(api)) == sorted([poor, relapsed, monitored])
    coverage = (await api.get("/pairings/coverage", params={"region": COUNTY})).json()
    assert (coverage["needing"], coverage["uncovered"]) == (3, 3)

    unit = await api.unit("某镇人民政府", VILLAGE[:9])
    cadre = await api.official(unit["id"], "陈干部", "驻村工作队员")
    r = await api.client.put(f"/api/v1/tasks/pairings/{poor}", json={"official_id": cadre["id"]},
                             headers=api.auth())
    assert r.status_code == 200, r.text
    assert r.json()["official_id"] == cadre["id"]
    assert sorted(await _uncovered(api)) == sorted([relapsed, monitored])
    listed = await api.get("/pairings", params={"official_id": cadre["id"]})
    assert [p["household_id"] for p in listed.json()["items"]] == [poor]
    (event,) = await rows(api.rt, "SELECT payload FROM outbox WHERE type = "
                                  "'cn.fupin.tasks.pairing.assigned'")
    assert poor in event.payload
    assert "陈干部" not in event.payload

    eliminated = RiskEliminated(case_id="case-1", household_id=monitored, region_code=VILLAGE,
                                decided_on=dt.date(2030, 6, 1))
    await publish(api.p, eliminated, service="monitoring", subject="case-1", region_code=VILLAGE)
    await eventually(lambda: _not_monitored(api, monitored))
    assert await _uncovered(api) == [relapsed]


async def _monitored(api, hid):
    found = await rows(api.rt, "SELECT monitored FROM household_view WHERE household_id = :h",
                       h=hid)
    return bool(found and found[0].monitored)


async def _not_monitored(api, hid):
    return not await _monitored(api, hid)


async def test_pairing_bad_input(both):
    api = both
    hid = await _register(api)
    await _status(api, hid, "poor")
    unit = await api.unit()
    cadre = await api.official(unit["id"], "陈干部")
    foreign = await api.official((await api.unit("县财政局", "430903"))["id"], "李四")
    before = await api.snapshot()

    async def put(household_id, official_id, headers=None):
        return await api.client.put(f"/api/v1/tasks/pairings/{household_id}",
                                    json={"official_id": official_id},
                                    headers=headers or api.auth())

    r = await put("not-registered", cadre["id"])
    assert r.status_code == 422
    assert r.json()["errors"][0]["code"] == "unknown_household"
    r = await put(hid, "00000000")
    assert r.status_code == 422
    assert r.json()["errors"][0]["code"] == "unknown_official"
    r = await put(hid, foreign["id"])
    assert r.status_code == 422
    assert r.json()["errors"][0]["code"] == "region_mismatch"
    r = await put(hid, cadre["id"], headers=api.auth(region="430903"))
    assert r.status_code == 404
    assert await api.snapshot() == before


async def test_replay_rebuilds_the_projection(both):
    api = both
    first, second = await _register(api), await _register(api)
    await _exit(api, second)
    await _status(api, second, "exited")
    await _status(api, first, "poor")
    async with api.rt.sessionmaker() as session:  # damage the projection
        tx = api.rt.new_tx(session)
        await tx.session.execute(sa.text("DELETE FROM household_view"))
        await session.commit()
    assert await count(api.rt, "household_view") == 0
    (projection,) = definition.projections
    applied = await replay_projection(api.rt, projection)
    assert applied >= 3  # two registrations and one exit
    found = {r.household_id: r.status for r in
             await rows(api.rt, "SELECT household_id, status FROM household_view")}
    assert found == {first: "poor", second: "exited"}


async def test_fupin_replay_tasks_command(both, monkeypatch, capsys):
    import asyncio

    from shared.cli import main as fupin

    api = both
    hid = await _register(api)
    await _status(api, hid, "poor")
    async with api.rt.sessionmaker() as session:
        await session.execute(sa.text("DELETE FROM household_view"))
        await session.commit()
    settings = await api.p.settings()
    env = {"FUPIN_TASKS_DATABASE_URL": api.p.database_urls["tasks"],
           "FUPIN_DATA_DIR": str(settings.data_dir), "FUPIN_TOPIC_PREFIX": api.p.prefix,
           "FUPIN_BUS": settings.bus, "FUPIN_KAFKA_BOOTSTRAP": settings.kafka_bootstrap}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert await asyncio.to_thread(fupin, ["replay", "tasks"]) == 0
    assert "household_view" in capsys.readouterr().out
    found = await rows(api.rt, "SELECT household_id, status FROM household_view")
    assert [(r.household_id, r.status) for r in found] == [(hid, "poor")]
