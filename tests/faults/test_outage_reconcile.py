"""20,000 registry writes over HTTP while the broker is down for 20 s, the monitoring process is
SIGKILLed mid-consumption and PostgreSQL restarts; then every committed registry write must
have exactly one effect in monitoring (projection rows one for one, one alert per household
below the line, nothing missing, nothing doubled), the outboxes drained, no dead letters.

Registry and monitoring run as separate `fupin serve` processes on the suite's own Kafka
(29192) and PostgreSQL (25532). Both services' databases live on that one cluster, so the
PostgreSQL restart hits monitoring's database too (its consumers see the outage as well).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from shared.events.topics import HOUSEHOLDS, dead_letter_topic
from shared.idnumber import check_digit
from tests.faults.conftest import (
    Db,
    ServiceProcess,
    auth,
    create_database,
    delete_topics,
    drop_database,
    kafka_ctl,
    new_prefix,
    pg_ctl,
    pg_dump,
    pii_leaks,
    service_env,
    topic_counts,
    write_report,
)

WRITES = 20_000
CONCURRENCY = 24
VILLAGES = ("430902100201", "430902100202", "430902101201")
YEAR = 2025
LINE_YUAN = "6000.00"
KAFKA_DOWN_AT, KAFKA_DOWN_SECONDS = 2_500, 20
PG_RESTART_AT = 14_000
CONVERGE_SECONDS = 240


def id_number(k: int, member: int) -> str:
    """A valid GB 11643 number, unique per (household k, member)."""
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=(2 * k + member) // 499)
    serial = ((2 * k + member) % 499) * 2 + 1
    first17 = f"430902{birth:%Y%m%d}{serial:03d}"
    return first17 + check_digit(first17)


def household_body(k: int) -> dict:
    members = [{"name": "张三", "id_number": id_number(k, 0), "relation": "head",
                "labor_ability": "normal", "health": "healthy", "schooling": "none"}]
    if k % 2:
        members.append({"name": "李四", "id_number": id_number(k, 1), "relation": "spouse",
                        "labor_ability": "weak", "health": "chronic", "schooling": "primary"})
    return {"village_code": VILLAGES[k % len(VILLAGES)], "attribute": "general",
            "identified_year": 2016, "primary_cause": "illness",
            "secondary_causes": ["lack_skills"], "members": members}


def income_body(k: int, year: int, second: bool) -> dict:
    if year == YEAR:
        below = (k % 3 == 0) != (second and k % 4 == 0)  # a second record flips some
    else:
        below = k % 5 == 0
    wage = "2000.00" if below else "30000.00"
    return {"wage": wage, "business": "500.00", "property": "0", "transfer": "100.00",
            "business_cost": "200.00"}


@dataclass
class Load:
    attempted: int = 0
    acknowledged: int = 0
    failed: Counter = field(default_factory=Counter)
    acked_households: set[str] = field(default_factory=set)
    acked_incomes: int = 0
    next_k: int = 0
    used_ids: set[str] = field(default_factory=set)
    reached: dict[int, asyncio.Event] = field(default_factory=dict)

    def take(self) -> bool:
        if self.attempted >= WRITES:
            return False
        self.attempted += 1
        for mark, event in self.reached.items():
            if self.attempted >= mark:
                event.set()
        return True

    def at(self, mark: int) -> asyncio.Event:
        event = self.reached.setdefault(mark, asyncio.Event())
        if self.attempted >= mark:
            event.set()
        return event


async def _write(load: Load, client: httpx.AsyncClient, method: str, url: str,
                 body: dict) -> httpx.Response | None:
    try:
        r = await client.request(method, url, json=body)
    except httpx.HTTPError as exc:
        load.failed[type(exc).__name__] += 1
        return None
    if 200 <= r.status_code < 300:
        load.acknowledged += 1
        return r
    load.failed[f"HTTP {r.status_code}"] += 1
    return None


async def _worker(load: Load, client: httpx.AsyncClient) -> None:
    while load.take():
        k = load.next_k
        load.next_k += 1
        body = household_body(k)
        load.used_ids.update(m["id_number"] for m in body["members"])
        r = await _write(load, client, "POST", "/api/v1/registry/households", body)
        if r is None:
            continue
        household_id = r.json()["id"]
        load.acked_households.add(household_id)
        records = [(YEAR - 1, False), (YEAR, False)] + ([(YEAR, True)] if k % 2 == 0 else [])
        for year, second in records:
            if not load.take():
                return
            url = f"/api/v1/registry/households/{household_id}/incomes/{year}"
            if await _write(load, client, "PUT", url, income_body(k, year, second)) is not None:
                load.acked_incomes += 1


async def _lag(registry: Db, monitoring: Db) -> int:
    """Registry events published but not yet handled by monitoring's projection group."""
    published = await registry.value(
        "SELECT count(*) FROM outbox WHERE published_at IS NOT NULL AND topic = $1", HOUSEHOLDS)
    handled = await monitoring.value(
        "SELECT count(*) FROM inbox WHERE consumer_group = 'monitoring.registry'")
    return int(published) - int(handled)


async def _faults(load: Load, monitoring_proc: ServiceProcess, registry: Db, monitoring: Db,
                  log: list[dict], t0: float) -> None:
    def note(what: str, **extra) -> None:
        log.append({"fault": what, "at_write": load.attempted,
                    "t": round(time.monotonic() - t0, 1), **extra})

    # 1. The broker goes away for 20 s while the writes go on.
    await load.at(KAFKA_DOWN_AT).wait()
    await kafka_ctl("stop")
    note("kafka stopped")
    await asyncio.sleep(KAFKA_DOWN_SECONDS)
    await kafka_ctl("start")
    note("kafka started", down_seconds=KAFKA_DOWN_SECONDS)

    # 2. SIGKILL monitoring while it is working through the backlog the outage left. The
    # consumers drain thousands of events a second, faster than this loop could catch them
    # mid-work, so monitoring is frozen while the relay publishes the outage's backlog, let go,
    # and frozen again as soon as its first batch is in: killed with events still to handle.
    monitoring_proc.freeze()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and await _lag(registry, monitoring) < 500:
        await asyncio.sleep(0.2)
    handled_before = await monitoring.value("SELECT count(*) FROM inbox")
    monitoring_proc.thaw()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if await monitoring.value("SELECT count(*) FROM inbox") > handled_before:
            break
        await asyncio.sleep(0.01)
    monitoring_proc.freeze()
    lag = await _lag(registry, monitoring)
    monitoring_proc.kill()
    note("monitoring SIGKILL", lag_at_kill=lag)
    monitoring_proc.start()
    await monitoring_proc.wait_up()
    note("monitoring restarted")

    # 3. PostgreSQL (registry's and monitoring's databases) restarts.
    await load.at(PG_RESTART_AT).wait()
    await pg_ctl("stop")
    note("postgresql stopped")
    await asyncio.sleep(2)
    await pg_ctl("start")
    note("postgresql started")


async def _converged(registry: Db, monitoring: Db) -> tuple[bool, dict]:
    state = {
        "registry_unpublished": await registry.value(
            "SELECT count(*) FROM outbox WHERE published_at IS NULL"),
        "monitoring_unpublished": await monitoring.value(
            "SELECT count(*) FROM outbox WHERE published_at IS NULL"),
        "household_events": await registry.value(
            "SELECT count(*) FROM outbox WHERE topic = $1", HOUSEHOLDS),
        "income_events": await registry.value(
            "SELECT count(*) FROM outbox WHERE type = 'cn.fupin.registry.household.income_recorded'"),
        "projection_inbox": await monitoring.value(
            "SELECT count(*) FROM inbox WHERE consumer_group = 'monitoring.registry'"),
        "rules_inbox": await monitoring.value(
            "SELECT count(*) FROM inbox WHERE consumer_group = 'monitoring.rules'"),
        "dead_letters": await monitoring.value("SELECT count(*) FROM dead_letters"),
    }
    done = (state["registry_unpublished"] == 0 and state["monitoring_unpublished"] == 0
            and state["projection_inbox"] >= state["household_events"]
            and state["rules_inbox"] >= state["income_events"])
    return done, state


async def test_outage_kill_and_restart_lose_and_double_nothing(fault_servers, tmp_path):
    prefix = new_prefix()
    dbs = {"registry": await create_database("registry"),
           "monitoring": await create_database("monitoring")}
    registry_db, monitoring_db = Db(dbs["registry"]), Db(dbs["monitoring"])
    env = service_env(prefix, dbs)
    registry_proc = ServiceProcess("registry", env, tmp_path)
    monitoring_proc = ServiceProcess("monitoring", env, tmp_path)
    figures: dict = {"writes_target": WRITES, "concurrency": CONCURRENCY}
    faults: list[dict] = []
    load = Load()
    try:
        registry_proc.start()
        monitoring_proc.start()
        await registry_proc.wait_up()
        await monitoring_proc.wait_up()
        async with httpx.AsyncClient(base_url=registry_proc.url, headers=auth(),
                                     timeout=30) as reg, \
                httpx.AsyncClient(base_url=monitoring_proc.url, headers=auth(),
                                  timeout=30) as mon:
            for code in ("43", "4309", "430902", "430902100", "430902101", *VILLAGES):
                r = await reg.post("/api/v1/registry/regions", json={"code": code,
                                                                      "name": f"区划{code}"})
                assert r.status_code == 201, r.text
            for year in (YEAR - 1, YEAR):
                r = await mon.put(f"/api/v1/monitoring/lines/{year}",
                                  json={"region_code": "43", "amount": LINE_YUAN})
                assert r.status_code == 200, r.text

            t0 = time.monotonic()
            limits = httpx.Limits(max_connections=CONCURRENCY)
            async with httpx.AsyncClient(base_url=registry_proc.url, headers=auth(),
                                         timeout=30, limits=limits) as client:
                fault_task = asyncio.create_task(
                    _faults(load, monitoring_proc, registry_db, monitoring_db, faults, t0))
                await asyncio.gather(*(_worker(load, client) for _ in range(CONCURRENCY)))
                figures["write_seconds"] = round(time.monotonic() - t0, 1)
                await asyncio.wait_for(fault_task, timeout=180)

        # Drain: every committed event published and handled.
        deadline = time.monotonic() + CONVERGE_SECONDS
        while True:
            done, state = await _converged(registry_db, monitoring_db)
            if done or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
        figures["converge_seconds"] = round(time.monotonic() - t0 - figures["write_seconds"], 1)
        figures.update(state)
        figures.update(await _reconcile(registry_db, monitoring_db, load, prefix))
        figures.update(writes_attempted=load.attempted, acknowledged=load.acknowledged,
                       failed=sum(load.failed.values()), failed_by_kind=dict(load.failed),
                       faults_injected=len([f for f in faults if "stopped" in f["fault"]
                                            or "SIGKILL" in f["fault"]]),
                       fault_log=faults)

        # Personal data: no ID number in either database dump or in either process's log.
        leaks = []
        for service, name in dbs.items():
            leaks += pii_leaks(load.used_ids, await pg_dump(name), f"database {service}")
        for proc in (registry_proc, monitoring_proc):
            leaks += pii_leaks(load.used_ids, proc.log_path.read_bytes(), f"{proc.service} log")
        figures["id_numbers_used"] = len(load.used_ids)
        figures["pii_leaks"] = len(leaks)
        write_report("outage_reconcile", figures)

        assert load.attempted == WRITES
        assert len(faults) == 6, faults
        assert faults[2]["lag_at_kill"] > 0, faults  # killed with events still to handle
        assert done, f"did not converge within {CONVERGE_SECONDS}s: {state}"
        assert figures["lost"] == 0, figures
        assert figures["doubled"] == 0, figures
        assert figures["acknowledged_missing_in_registry"] == 0, figures
        assert figures["mismatched"] == 0, figures
        assert figures["unaudited_writes"] == 0, figures
        assert state["dead_letters"] == 0
        assert figures["dlq_records"] == 0
        assert figures["registry_unpublished"] == 0 and figures["monitoring_unpublished"] == 0
        assert not leaks, leaks[:5]
    finally:
        registry_proc.stop()
        monitoring_proc.stop()
        for name in dbs.values():
            try:
                await drop_database(name)
            except Exception:  # the cluster may be down when an assertion above failed
                pass
        try:
            await delete_topics(prefix)
        except Exception:
            pass


async def _reconcile(registry: Db, monitoring: Db, load: Load, prefix: str) -> dict:
    """Registry's committed rows against monitoring's projection, one for one."""
    out: dict = {}
    households = {r["id"]: r for r in await registry.fetch(
        "SELECT h.id, h.region_code, h.status, h.attribute, count(m.id) AS members "
        "FROM households h JOIN members m ON m.household_id = h.id AND m.removed_on IS NULL "
        "GROUP BY h.id")}
    views = {r["household_id"]: r for r in await monitoring.fetch(
        "SELECT household_id, region_code, status, attribute, member_count FROM household_view")}
    members = {(r["id"], r["household_id"], r["id_hash"]) for r in await registry.fetch(
        "SELECT id, household_id, id_hash FROM members")}
    member_views = {(r["member_id"], r["household_id"], r["id_hash"]) for r in
                    await monitoring.fetch("SELECT member_id, household_id, id_hash "
                                           "FROM member_view WHERE active")}
    incomes = {(r["household_id"], r["year"]): tuple(r)[2:] for r in await registry.fetch(
        "SELECT household_id, year, net_income_fen, per_capita_net_income_fen, member_count "
        "FROM incomes")}
    income_views = {(r["household_id"], r["year"]): tuple(r)[2:] for r in await monitoring.fetch(
        "SELECT household_id, year, net_income_fen, per_capita_net_income_fen, member_count "
        "FROM income_view")}

    # Which households must have an alert: every committed income event below the line.
    line_fen = int(float(LINE_YUAN) * 100)
    below = set()
    for r in await registry.fetch(
            "SELECT payload FROM outbox WHERE type = "
            "'cn.fupin.registry.household.income_recorded'"):
        data = json.loads(r["payload"])["data"]
        if data["per_capita_net_income_fen"] < line_fen:
            below.add(data["household_id"])
    alerts = Counter(r["household_id"] for r in await monitoring.fetch(
        "SELECT household_id FROM alerts"))
    open_alerts = Counter(r["household_id"] for r in await monitoring.fetch(
        "SELECT household_id FROM alerts WHERE status = 'open'"))
    raised_events = Counter(json.loads(r["payload"])["data"]["household_id"] for r in
                            await monitoring.fetch("SELECT payload FROM outbox WHERE type = "
                                                   "'cn.fupin.monitoring.alert.raised'"))
    # Every registry event handled exactly once per group (the inbox keys are unique, so
    # an event id missing from it was lost; one there that was never emitted is noise).
    emitted = {r["event_id"] for r in await registry.fetch(
        "SELECT event_id FROM outbox WHERE topic = $1", HOUSEHOLDS)}
    income_ids = {r["event_id"] for r in await registry.fetch(
        "SELECT event_id FROM outbox WHERE type = "
        "'cn.fupin.registry.household.income_recorded'")}
    inbox = {g: {r["event_id"] for r in await monitoring.fetch(
        "SELECT event_id FROM inbox WHERE consumer_group = $1", g)}
        for g in ("monitoring.registry", "monitoring.rules")}
    dlq = await topic_counts(prefix)
    # Every committed write has its audit entry (who, when, what), in the same transaction.
    audits = {r["action"]: r["n"] for r in await registry.fetch(
        "SELECT action, count(*) AS n FROM audit_log WHERE action IN "
        "('household.register', 'household.income_record') GROUP BY action")}

    lost_households = set(households) - set(views)
    lost_members = members - member_views
    lost_incomes = set(incomes) - set(income_views)
    lost_alerts = below - set(alerts)
    lost_events = (emitted - inbox["monitoring.registry"]) | (income_ids - inbox["monitoring.rules"])
    doubled_alerts = sum(n - 1 for n in alerts.values() if n > 1)
    doubled_open = sum(n - 1 for n in open_alerts.values() if n > 1)
    doubled_raised = sum(n - 1 for n in raised_events.values() if n > 1)
    extra = (len(set(views) - set(households)) + len(member_views - members)
             + len(set(income_views) - set(incomes)) + len(set(alerts) - below))
    mismatched = sum(1 for h, r in households.items() if h in views and (
        r["region_code"], r["status"], r["attribute"], r["members"]) != tuple(views[h])[1:])
    mismatched += sum(1 for k, v in incomes.items() if k in income_views and income_views[k] != v)
    out.update(
        registry_households=len(households), registry_members=len(members),
        registry_incomes=len(incomes), registry_income_events=len(income_ids),
        projected_households=len(views), projected_members=len(member_views),
        projected_incomes=len(income_views), alerts=sum(alerts.values()),
        households_below_line=len(below),
        acknowledged_registrations=len(load.acked_households),
        acknowledged_incomes=load.acked_incomes,
        committed_without_ack=len(households) - len(load.acked_households & set(households)),
        acknowledged_missing_in_registry=len(load.acked_households - set(households)),
        lost=len(lost_households) + len(lost_members) + len(lost_incomes) + len(lost_alerts)
        + len(lost_events),
        lost_detail={"households": len(lost_households), "members": len(lost_members),
                     "incomes": len(lost_incomes), "alerts": len(lost_alerts),
                     "events_not_handled": len(lost_events)},
        doubled=doubled_alerts + doubled_open + doubled_raised + extra,
        doubled_detail={"alerts": doubled_alerts, "open_alerts": doubled_open,
                        "alert_raised_events": doubled_raised, "rows_without_source": extra},
        mismatched=mismatched,
        audited_registrations=audits.get("household.register", 0),
        audited_incomes=audits.get("household.income_record", 0),
        unaudited_writes=abs(len(households) - audits.get("household.register", 0))
        + abs(len(income_ids) - audits.get("household.income_record", 0)),
        dlq_records=sum(n for t, n in dlq.items() if t.startswith("fupin.dlq.")),
        dlq_topics=sorted(t for t in dlq if t.startswith("fupin.dlq.")),
        household_topic_records=dlq.get(HOUSEHOLDS, 0),
    )
    assert dead_letter_topic("monitoring.registry") in dlq, sorted(dlq)
    return out
