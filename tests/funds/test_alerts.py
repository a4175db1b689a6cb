"""Alerts computed from the ledger, each raised once as `cn.fupin.funds.alert.raised`:
stagnant allocations, overdue projects, payments to households that left the registry,
category shares that can no longer be met."""

import datetime as dt
import json

import pytest

from services.funds.domain.alerts import refresh_alerts
from services.funds.domain.common import today
from tests.funds.helpers import (
    COUNTY,
    YEAR,
    F,
    get,
    household_leaves,
    new_allocation,
    new_disbursement,
    new_project,
    new_source,
    post,
    registered_household,
)
from tests.support.db import count, rows
from tests.support.platform import eventually

ALLOCATED = dt.date(YEAR, 1, 15)


async def sweep(p, as_of: dt.date) -> list:
    rt = p.runtime("funds")
    async with rt.sessionmaker() as session:
        tx = rt.new_tx(session, actor="test")
        raised = await refresh_alerts(tx, as_of=as_of)
        await tx.flush()
        await session.commit()
    return raised


async def alert_events(p) -> list[dict]:
    found = await rows(p.runtime("funds"), "SELECT payload FROM outbox WHERE type = "
                                           "'cn.fupin.funds.alert.raised' ORDER BY id")
    return [json.loads(e.payload)["data"] for e in found]


async def _allocated(p, amount="1000.00", **project):
    source, project = await new_source(p), await new_project(p, **project)
    return await new_allocation(p, source, project, amount, allocated_on=ALLOCATED)


async def test_stagnant_after_90_days_raised_once(funds):
    allocation = await _allocated(funds)
    await new_disbursement(funds, allocation, "100.00")
    assert await sweep(funds, ALLOCATED + dt.timedelta(days=90)) == []
    raised = await sweep(funds, ALLOCATED + dt.timedelta(days=91))
    assert [(a.kind, a.allocation_id, a.amount_fen) for a in raised] == [
        ("stagnant", allocation["id"], 90000)]
    assert await sweep(funds, ALLOCATED + dt.timedelta(days=200)) == []
    (event,) = await alert_events(funds)
    assert event["kind"] == "stagnant" and event["allocation_id"] == allocation["id"]
    assert event["region_code"] == allocation["region_code"] and event["amount_fen"] == 90000
    assert event["project_id"] == allocation["project_id"] and event["alert_id"]
    audit = await rows(funds.runtime("funds"), "SELECT actor, resource_id FROM audit_log "
                                               "WHERE action = 'alert.raise'")
    assert [(a.actor, a.resource_id) for a in audit] == [("test", event["alert_id"])]


async def test_stagnant_days_follow_the_region_rule(funds):
    r = await funds.client("funds").put(f"{F}/rules/{YEAR}", headers=funds.auth(),
                                        json={"region_code": COUNTY, "stagnant_days": 30})
    assert r.status_code == 200
    await _allocated(funds)
    assert await sweep(funds, ALLOCATED + dt.timedelta(days=30)) == []
    assert len(await sweep(funds, ALLOCATED + dt.timedelta(days=31))) == 1


async def test_fully_disbursed_is_not_stagnant(funds):
    allocation = await _allocated(funds)
    await new_disbursement(funds, allocation, "1000.00")
    assert await sweep(funds, ALLOCATED + dt.timedelta(days=365)) == []


async def test_overdue_project(funds):
    end = dt.date(YEAR, 2, 28)
    allocation = await _allocated(funds, planned_start=f"{YEAR}-01-01",
                                  planned_end=end.isoformat())
    await new_disbursement(funds, allocation, "400.00")
    assert await sweep(funds, end) == []
    raised = await sweep(funds, end + dt.timedelta(days=1))
    assert [(a.kind, a.project_id, a.amount_fen) for a in raised] == [
        ("overdue_project", allocation["project_id"], 60000)]
    assert await sweep(funds, end + dt.timedelta(days=2)) == []


async def test_payment_to_a_household_that_left(funds):
    hid = await registered_household(funds)
    allocation = await _allocated(funds)
    paid = await new_disbursement(funds, allocation, "1000.00", household_id=hid)
    undone = await new_disbursement(funds, await _allocated(funds), "10.00", household_id=hid)
    await post(funds, f"/disbursements/{undone['id']}/reverse", {"reason": "退回"})
    assert await sweep(funds, ALLOCATED) == []
    await household_leaves(funds, hid)
    raised = await sweep(funds, ALLOCATED)
    assert [(a.kind, a.disbursement_id, a.amount_fen) for a in raised] == [
        ("household_left", paid["id"], 100000)]
    assert (await alert_events(funds))[0]["household_id"] == hid
    assert await sweep(funds, ALLOCATED) == []


async def test_category_share_that_cannot_be_met(funds):
    r = await funds.client("funds").put(f"{F}/rules/{YEAR}", headers=funds.auth(), json={
        "region_code": COUNTY, "min_shares": {"industry": "60"}})
    assert r.status_code == 200
    source = await new_source(funds, amount="10000.00")
    roads = await new_project(funds, category="infrastructure")
    await new_allocation(funds, source, roads, "4000.00")
    assert await sweep(funds, ALLOCATED) == []  # 6000 still unallocated: 60 % reachable
    await new_allocation(funds, source, roads, "0.01")
    raised = await sweep(funds, ALLOCATED)
    assert [(a.kind, a.region_code, a.amount_fen) for a in raised] == [
        ("category_share", COUNTY, 600000)]
    assert (await alert_events(funds))[0]["category"] == "industry"
    assert await sweep(funds, ALLOCATED) == []


async def test_get_alerts_refreshes_and_emits_once(funds, monkeypatch):
    """GET /alerts writes (it raises due alerts first), so it is declared `writes_on_read`
    and runs in a transaction from its first request, never on a read-only connection."""
    import shared.web

    read_only_paths = []
    original = shared.web._read_only

    async def spy(request, *args):
        read_only_paths.append(request.url.path)
        return await original(request, *args)

    monkeypatch.setattr(shared.web, "_read_only", spy)
    old = today() - dt.timedelta(days=120)
    source, project = await new_source(funds), await new_project(funds)
    await new_allocation(funds, source, project, "500.00", allocated_on=old)
    first = await get(funds, f"/alerts?region={COUNTY}")
    assert first.status_code == 200, first.text
    assert [(a["kind"], a["amount"]) for a in first.json()["items"]] == [("stagnant", "500.00")]
    second = await get(funds, "/alerts")
    assert second.json()["items"] == first.json()["items"]
    assert len(await alert_events(funds)) == 1
    other = await get(funds, "/alerts", region="430903", scopes=["funds:read"])
    assert other.json()["items"] == []
    assert not [path for path in read_only_paths if path.endswith("/alerts")]
    assert (await get(funds, "/stats")).status_code == 200
    assert funds.real == bool(read_only_paths)  # the spy sees GETs that read (PostgreSQL)


@pytest.fixture
async def swept(platform, monkeypatch):
    monkeypatch.setenv("FUPIN_FUNDS_ALERT_INTERVAL_SECONDS", "0.1")
    await platform.start("funds")
    return platform


async def test_background_job_raises_alerts(swept):
    old = today() - dt.timedelta(days=100)
    source, project = await new_source(swept), await new_project(swept)
    allocation = await new_allocation(swept, source, project, allocated_on=old)
    rt = swept.runtime("funds")
    await eventually(lambda: count(rt, "alerts"))
    await eventually(lambda: alert_events(swept))
    (event,) = await alert_events(swept)
    assert event["kind"] == "stagnant" and event["allocation_id"] == allocation["id"]
