"""The automatic rules and the projection applied set-based (a polled batch mixing several
households and event types) give exactly what applying the same events one by one gives:
the same alerts (kinds, sources, due dates, status), the same events per household in the
same order, the same audit rows, guarantee watches and projection rows."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from services.monitoring.domain import alerts as alert_domain
from services.monitoring.domain import auto_rules, calendar, rules
from services.monitoring.events.registry_handlers import rules_subscription, subscription
from shared.bus.base import Record
from shared.consumer import EventConsumer
from shared.events.topics import HOUSEHOLDS
from tests.monitoring.helpers import event_of, guarantees, income, registered, relapse
from tests.support.db import rows
from tests.support.factories import OTHER_COUNTY_VILLAGE, VILLAGE

OLD, NEW = dt.date(2024, 1, 1), dt.date(2024, 6, 1)


@pytest.fixture
async def monitoring(platform):
    await platform.start("monitoring", background=False)
    rt = platform.runtime("monitoring")
    async with rt.sessionmaker() as session:
        tx = rt.new_tx(session, actor="test")
        await rules.set_line(tx, year=2024, region_code="43", amount_fen=750_000)
        await rules.set_line(tx, year=2024, region_code=OTHER_COUNTY_VILLAGE[:6],
                             amount_fen=600_000)
        # A different procedure rule for one county: its alerts get another due date.
        await rules.set_rule(tx, year=calendar.today().year,
                             region_code=OTHER_COUNTY_VILLAGE[:6],
                             values=rules.RuleValues(due_days=10, working_days=True))
        await tx.flush()
        await session.commit()
    return platform


def _script():
    """Households and their events, mixing every rule and outcome; each household's events
    in its order (the batch interleaves households)."""
    a, b, c = registered(), registered(village=OTHER_COUNTY_VILLAGE), registered()
    d, e, f = registered(), registered(village=OTHER_COUNTY_VILLAGE), registered()
    per_household = [
        # below the line, then a relapse and a guarantee turned false: one alert, three kinds
        [a, income(a, 5000), relapse(a), guarantees(a, "food", on=NEW)],
        # 6,500 yuan: below the province line but above its county's 6,000 -> no alert;
        # then a guarantee, an older assessment arriving late, and the same state again
        [b, income(b, 6500), guarantees(b, "housing_safety", on=NEW),
         guarantees(b, "food", on=OLD), guarantees(b, "housing_safety", on=NEW)],
        # above the line; no line for 2031; then a relapse
        [c, income(c, 9000), income(c, 100, year=2031), relapse(c)],
        # a relapse twice (the second changes nothing) and an income below the line
        [d, relapse(d), relapse(d), income(d, 7499)],
        # below its county's line, in the county with working-day due dates
        [e, income(e, 5999), guarantees(e, on=NEW), guarantees(e, "drinking_water", on=NEW)],
        # guarantees met, then unmet twice in a row with a new one added
        [f, guarantees(f, on=OLD), guarantees(f, "food", on=NEW),
         guarantees(f, "food", "clothing", on=NEW)],
    ]
    batch = []
    for k in range(max(len(events) for events in per_household)):
        for events in per_household:
            if k < len(events):
                batch.append(events[k])
    return [h[0].household_id for h in per_household], batch


def _records(payloads) -> list[Record]:
    events = [event_of(p) for p in payloads]
    return [Record(HOUSEHOLDS, 0, offset, e.subject, e.to_bytes())
            for offset, e in enumerate(events)]


async def _apply(rt, records: list[Record], *, batched: bool) -> None:
    for sub in (subscription, rules_subscription):
        consumer = EventConsumer(runtime=rt, subscription=sub, bus=rt.bus, max_attempts=1)
        if batched:
            assert await consumer._handle_batch(records), "the batch fell back to one by one"
        else:
            for record in records:
                await consumer.handle(record)


def _j(value):
    return value if isinstance(value, list | dict) or value is None else json.loads(value)


async def _outcome(rt, households: list[str]) -> list[dict]:
    """Everything the rules and the projection left, per household, ids left out."""
    out = []
    for hid in households:
        found = await rows(rt, "SELECT kinds, sources, raised_on, due_on, status, version "
                               "FROM alerts WHERE household_id = :h ORDER BY id", h=hid)
        events = await rows(rt, "SELECT type, payload FROM outbox WHERE key = :h ORDER BY id",
                            h=hid)
        audits = await rows(rt, "SELECT a.action, a.before, a.after FROM audit_log a JOIN alerts "
                                "x ON x.id = a.resource_id WHERE x.household_id = :h "
                                "ORDER BY a.at, a.id", h=hid)
        watch = await rows(rt, "SELECT unmet, assessed_on FROM guarantee_watch "
                               "WHERE household_id = :h", h=hid)
        view = await rows(rt, "SELECT region_code, status, member_count, unmet_guarantees "
                              "FROM household_view WHERE household_id = :h", h=hid)
        incomes = await rows(rt, "SELECT year, per_capita_net_income_fen FROM income_view "
                                 "WHERE household_id = :h ORDER BY year", h=hid)
        out.append({
            "alerts": [(_j(r.kinds), _j(r.sources), str(r.raised_on), str(r.due_on), r.status,
                        r.version) for r in found],
            "events": [(r.type, _strip(json.loads(r.payload)["data"])) for r in events],
            "audits": [(r.action, _strip(_j(r.before)), _strip(_j(r.after))) for r in audits],
            "watch": [(_j(r.unmet), str(r.assessed_on)) for r in watch],
            "view": [(r.region_code, r.status, r.member_count, _j(r.unmet_guarantees))
                     for r in view],
            "incomes": [tuple(r) for r in incomes],
        })
    return out


def _strip(data):
    """A payload or snapshot without the fields that differ between two runs (ids)."""
    if not isinstance(data, dict):
        return data
    return {k: v for k, v in data.items() if k not in ("id", "alert_id", "household_id")}


async def test_a_mixed_batch_equals_one_by_one(monitoring):
    rt = monitoring.runtime("monitoring")
    one_ids, one_batch = _script()
    set_ids, set_batch = _script()
    await _apply(rt, _records(one_batch), batched=False)
    await _apply(rt, _records(set_batch), batched=True)
    one, batched = await _outcome(rt, one_ids), await _outcome(rt, set_ids)
    assert batched == one
    # And the outcome is the one the rules call for (not merely equal, both could be wrong).
    a, b, c, d, e, f = one
    today = calendar.today()
    assert a["alerts"] == [(["income_below_line", "relapse", "guarantee_unmet"], ["automatic"],
                            str(today), str(today + dt.timedelta(days=15)), "open", 3)]
    assert [t.rsplit(".", 1)[-1] for t, _ in a["events"]] == ["raised", "evidence_added",
                                                               "evidence_added"]
    assert b["alerts"] == [(["guarantee_unmet"], ["automatic"], str(today),
                            str(calendar.add_days(today, 10, working=True)), "open", 1)]
    assert b["watch"] == [(["housing_safety"], "2024-06-01")]
    assert c["alerts"] == [(["relapse"], ["automatic"], str(today),
                            str(today + dt.timedelta(days=15)), "open", 1)]
    assert d["alerts"][0][0] == ["relapse", "income_below_line"]
    assert [t.rsplit(".", 1)[-1] for t, _ in d["events"]] == ["raised", "evidence_added"]
    assert e["alerts"][0][:2] == (["income_below_line", "guarantee_unmet"], ["automatic"])
    assert f["alerts"][0][0] == ["guarantee_unmet"] and f["alerts"][0][5] == 1
    assert f["watch"] == [(["food", "clothing"], "2024-06-01")]
    assert [v[1] for v in (a["view"][0], c["view"][0], d["view"][0])] == ["relapsed"] * 3
    assert c["incomes"] == [(2024, 900_000), (2031, 10_000)]


async def test_a_household_twice_in_one_run_is_applied_in_order(monitoring):
    """The consumer's runs hold a household once; the rules keep the order even when a run
    holds one twice (a later round), as one by one would."""
    rt = monitoring.runtime("monitoring")
    h, g = registered(), registered()
    async with rt.sessionmaker() as session:
        tx = rt.new_tx(session, actor="test")
        assert await auto_rules.incomes_recorded(tx, [
            auto_rules.Income(h.household_id, VILLAGE, 2024, 100),
            auto_rules.Income(g.household_id, VILLAGE, 2024, 900_000),
            auto_rules.Income(h.household_id, VILLAGE, 2024, 200)]) == [True, False, True]
        assert await auto_rules.assessments(tx, [
            auto_rules.Assessment(g.household_id, VILLAGE, ["food"], NEW),
            auto_rules.Assessment(g.household_id, VILLAGE, ["food"], NEW),
            auto_rules.Assessment(g.household_id, VILLAGE, ["food", "clothing"], OLD),
            auto_rules.Assessment(g.household_id, VILLAGE, ["clothing", "food"], NEW),
        ]) == [True, False, False, True]
        await auto_rules.relapses(tx, [(h.household_id, VILLAGE), (h.household_id, VILLAGE)])
        await tx.flush()
        await session.commit()
    found = await rows(rt, "SELECT household_id, kinds, version FROM alerts ORDER BY id")
    assert [(r.household_id, _j(r.kinds), r.version) for r in found] == [
        (h.household_id, ["income_below_line", "relapse"], 2),
        (g.household_id, ["guarantee_unmet"], 1)]
    events = await rows(rt, "SELECT key, type FROM outbox ORDER BY id")
    assert [(r.key, r.type.rsplit(".", 1)[-1]) for r in events] == [
        (h.household_id, "raised"), (g.household_id, "raised"),
        (h.household_id, "evidence_added")]


async def test_an_alert_raised_concurrently_gets_the_lead_added(monitoring, monkeypatch):
    """Between reading the open alerts and inserting, another writer raised one: the insert
    skips that household (ON CONFLICT) and the lead is added to that alert instead."""
    rt = monitoring.runtime("monitoring")
    h, g = registered(), registered()
    async with rt.sessionmaker() as session:
        tx = rt.new_tx(session, actor="signal")
        await alert_domain.raise_or_append(tx, household_id=h.household_id,
                                           region_code=VILLAGE, kind="serious_illness",
                                           source="department")
        await tx.flush()
        await session.commit()
    real = alert_domain.open_alerts
    calls = []

    async def stale_first(tx, household_ids):
        calls.append(set(household_ids))
        return {} if len(calls) == 1 else await real(tx, household_ids)

    monkeypatch.setattr(alert_domain, "open_alerts", stale_first)
    async with rt.sessionmaker() as session:
        tx = rt.new_tx(session, actor="rules")
        await auto_rules.relapses(tx, [(h.household_id, VILLAGE), (g.household_id, VILLAGE)])
        await tx.flush()
        await session.commit()
    assert calls == [{h.household_id, g.household_id}, {h.household_id}]
    found = await rows(rt, "SELECT household_id, kinds, sources, status FROM alerts ORDER BY id")
    assert [(r.household_id, _j(r.kinds), _j(r.sources), r.status) for r in found] == [
        (h.household_id, ["serious_illness", "relapse"], ["department", "automatic"], "open"),
        (g.household_id, ["relapse"], ["automatic"], "open")]
    events = await rows(rt, "SELECT key, type FROM outbox ORDER BY id")
    assert [(r.key, r.type.rsplit(".", 1)[-1]) for r in events] == [
        (h.household_id, "raised"), (g.household_id, "raised"),
        (h.household_id, "evidence_added")]

