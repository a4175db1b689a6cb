"""Registry events over the real bus: the projection, the automatic rules (income below the
line, a guarantee turned false, a relapse), redelivery and duplicates, and replay."""

import asyncio
import json

import pytest

from services.monitoring.events.registry_handlers import household_projection
from shared.replay import replay_projection
from tests.monitoring.helpers import (
    API,
    event_of,
    guarantees,
    handled,
    income,
    project,
    publish,
    registered,
    relapse,
    set_line,
)
from tests.support.db import count, rows
from tests.support.platform import eventually


@pytest.fixture
async def lined(monitoring):
    await set_line(monitoring.client("monitoring"), monitoring.auth(), "7500", region="43")
    return monitoring


async def _alerts(platform):
    return await rows(platform.runtime("monitoring"),
                      "SELECT household_id, kinds, sources, status FROM alerts ORDER BY id")


async def test_income_below_line_raises_alert(lined):
    low, high = registered(), registered()
    await project(lined, low, high)
    await publish(lined, income(low, 7499), income(high, 7500))
    await handled(lined, "monitoring.rules", 2)
    found = await _alerts(lined)
    assert [a.household_id for a in found] == [low.household_id]
    got = (await lined.client("monitoring").get(f"{API}/alerts", headers=lined.auth())).json()
    assert got["items"][0]["kinds"] == ["income_below_line"]
    assert got["items"][0]["sources"] == ["automatic"]
    raised = await rows(lined.runtime("monitoring"),
                        "SELECT key FROM outbox WHERE type = 'cn.fupin.monitoring.alert.raised'")
    assert [r.key for r in raised] == [low.household_id]


async def test_rules_do_not_wait_for_the_projection(lined):
    """The income rule uses the payload: a household the projection has not seen still alerts."""
    h = registered()
    await publish(lined, income(h, 100))
    await eventually(lambda: count(lined.runtime("monitoring"), "alerts"))
    assert (await _alerts(lined))[0].household_id == h.household_id


async def test_no_line_for_the_year_raises_nothing(lined):
    h = registered()
    await project(lined, h)
    await publish(lined, income(h, 100, year=2031))
    await handled(lined, "monitoring.rules", 1)
    assert await _alerts(lined) == []


async def test_guarantee_turned_false_and_relapse_add_to_one_alert(lined):
    h = registered()
    await project(lined, h)
    await publish(lined, guarantees(h), guarantees(h, "housing_safety"), relapse(h),
                  income(h, 5000))
    await handled(lined, "monitoring.rules", 4)
    found = await _alerts(lined)
    assert len(found) == 1
    assert sorted(_json(found[0].kinds)) == ["guarantee_unmet", "income_below_line", "relapse"]
    assert _json(found[0].sources) == ["automatic"]
    await eventually(lambda: _projected_status(lined, "relapsed"))
    view = await rows(lined.runtime("monitoring"), "SELECT unmet_guarantees FROM household_view")
    assert _json(view[0].unmet_guarantees) == ["housing_safety"]


def _json(value):
    return value if isinstance(value, list) else json.loads(value)


async def _projected_status(platform, status):
    found = await rows(platform.runtime("monitoring"), "SELECT status FROM household_view")
    return found and found[0].status == status


async def test_unchanged_guarantee_raises_nothing_new(lined):
    h = registered()
    await project(lined, h)
    await publish(lined, guarantees(h, "drinking_water"))
    await handled(lined, "monitoring.rules", 1)
    alert = (await _alerts(lined))[0]
    r = await lined.client("monitoring").post(
        f"{API}/alerts/{(await rows(lined.runtime('monitoring'), 'SELECT id FROM alerts'))[0].id}"
        "/dismiss", json={"reason": "已安排供水"}, headers=lined.auth())
    assert r.status_code == 200
    await publish(lined, guarantees(h, "drinking_water"))  # the same state assessed again
    await handled(lined, "monitoring.rules", 2)
    assert [a.status for a in await _alerts(lined)] == ["dismissed"]
    assert alert.household_id == h.household_id


async def test_redelivered_and_duplicated_events_change_nothing(lined):
    h = registered()
    await project(lined, h)
    low = event_of(income(h, 6000))
    rt = lined.runtime("monitoring")
    await publish(lined, low, low)  # the same event id twice (redelivery)
    await handled(lined, "monitoring.rules", 1)
    await publish(lined, income(h, 6000), relapse(h), relapse(h))  # same facts, new ids
    await handled(lined, "monitoring.rules", 4)
    await handled(lined, "monitoring.registry", 5)
    await asyncio.sleep(0.3)
    snapshot = (await count(rt, "alerts"), await count(rt, "outbox"),
                await count(rt, "income_view"))
    assert snapshot[0] == 1
    assert snapshot[2] == 1
    assert await count(rt, "inbox", "WHERE consumer_group = 'monitoring.rules'") == 4
    kinds = (await lined.client("monitoring").get(f"{API}/alerts", headers=lined.auth())
             ).json()["items"][0]["kinds"]
    assert kinds == ["income_below_line", "relapse"]
    await publish(lined, low, event_of(relapse(h)))
    await handled(lined, "monitoring.rules", 5)
    await asyncio.sleep(0.3)
    assert (await count(rt, "alerts"), await count(rt, "outbox"),
            await count(rt, "income_view")) == snapshot


async def test_replay_rebuilds_the_projection_only(lined):
    a, b = registered(), registered(labor=("none",))
    await project(lined, a, b)
    await publish(lined, income(a, 5000), guarantees(b, "food"), relapse(b))
    await handled(lined, "monitoring.registry", 5)
    await handled(lined, "monitoring.rules", 3)
    rt = lined.runtime("monitoring")
    query = ("SELECT household_id, region_code, status, member_count, unmet_guarantees "
             "FROM household_view ORDER BY household_id")
    before = (await rows(rt, query), await rows(rt, "SELECT * FROM income_view"),
              await rows(rt, "SELECT member_id, labor_ability FROM member_view ORDER BY 1"))
    alerts_before = await count(rt, "alerts")
    applied = await replay_projection(rt, household_projection)
    assert applied == 5
    after = (await rows(rt, query), await rows(rt, "SELECT * FROM income_view"),
             await rows(rt, "SELECT member_id, labor_ability FROM member_view ORDER BY 1"))
    assert [list(r) for r in after[0]] == [list(r) for r in before[0]]
    assert len(after[1]) == len(before[1]) == 1
    assert [list(r) for r in after[2]] == [list(r) for r in before[2]]
    assert await count(rt, "alerts") == alerts_before
