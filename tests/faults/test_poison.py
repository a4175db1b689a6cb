"""A poison event on the real (fault) Kafka: `fupin serve monitoring` parks it after
FUPIN_CONSUMER_MAX_ATTEMPTS tries in `dead_letters` and on `fupin.dlq.<group>`, handles the
next event of the same partition, `fupin dlq list` shows it, and `fupin dlq redrive` replays it
once the cause is fixed.

The poison is what a faulty producer sends: a `household.income_recorded` event with a valid
CloudEvents envelope whose payload lacks `member_count`, so monitoring's handlers (the
projection group and the rules group both handle that type) reject it with a ValidationError.
Monitoring has no handler that a rule or a reference row set through its API would unblock,
so "the fix" here is the one an operator applies to a malformed event: once the producer is
corrected, the parked copy (`dead_letters.value`) is replaced by the corrected event - same
event id - and redriven. Before the fix, a redrive leaves it parked.
"""

from __future__ import annotations

import asyncio
import json
import time

from aiokafka import AIOKafkaProducer

from shared.events.envelope import CloudEvent
from shared.events.registry import IncomeRecorded
from shared.events.topics import HOUSEHOLDS, dead_letter_topic
from tests.faults.conftest import (
    FAULT_BOOTSTRAP,
    Db,
    ServiceProcess,
    auth,
    create_database,
    delete_topics,
    drop_database,
    new_prefix,
    read_records,
    run_fupin,
    service_env,
    topic_counts,
    write_report,
)

ATTEMPTS = 3
VILLAGE = "430902100201"
GROUPS = ("monitoring.registry", "monitoring.rules")


def _income(household_id: str, per_capita_fen: int) -> CloudEvent:
    return CloudEvent.of(
        IncomeRecorded(household_id=household_id, region_code=VILLAGE, year=2025,
                       net_income_fen=per_capita_fen * 2, per_capita_net_income_fen=per_capita_fen,
                       member_count=2),
        service="registry", subject=household_id, region_code=VILLAGE)


async def _wait(check, timeout: float = 90, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.3)
    raise AssertionError(f"{what} not met within {timeout}s (last: {last!r})")


async def test_poison_is_parked_does_not_block_and_redrives_after_fix(fault_servers, tmp_path):
    prefix = new_prefix()
    name = await create_database("poison")
    db = Db(name)
    env = service_env(prefix, {"monitoring": name},
                      FUPIN_CONSUMER_MAX_ATTEMPTS=str(ATTEMPTS))
    proc = ServiceProcess("monitoring", env, tmp_path)
    figures: dict = {"max_attempts": ATTEMPTS}
    try:
        proc.start()
        await proc.wait_up()
        import httpx

        async with httpx.AsyncClient(base_url=proc.url, headers=auth(), timeout=30) as client:
            r = await client.put("/api/v1/monitoring/lines/2025",
                                 json={"region_code": "43", "amount": "6000.00"})
            assert r.status_code == 200, r.text
        # Both groups are subscribed once their DLQ topics exist (created before subscribing).
        await _wait(lambda: _dlq_topics_exist(prefix), what="consumer groups started")
        await asyncio.sleep(3)  # let both groups finish joining before the events arrive

        good = _income("h-correct", 900_00)  # below the line: the rules group raises an alert
        fixed = _income("h-poison", 1_000_00)
        poison_value = json.loads(fixed.to_bytes())
        del poison_value["data"]["member_count"]  # the faulty producer's payload
        poison_bytes = json.dumps(poison_value).encode()

        producer = AIOKafkaProducer(bootstrap_servers=FAULT_BOOTSTRAP, acks="all",
                                    enable_idempotence=True)
        await producer.start()
        try:
            topic = prefix + HOUSEHOLDS
            headers = [("content-type", b"application/cloudevents+json")]
            # Same partition, poison first: the good event must not wait behind it.
            await producer.send_and_wait(topic, poison_bytes, key=b"h-poison", partition=0,
                                         headers=headers)
            await producer.send_and_wait(topic, good.to_bytes(), key=b"h-correct",
                                         partition=0, headers=headers)
        finally:
            await producer.stop()
        t0 = time.monotonic()

        await _wait(lambda: db.value("SELECT count(*) = 2 FROM dead_letters"),
                    what="two dead letters (one per group)")
        await _wait(lambda: db.value("SELECT count(*) = 1 FROM income_view "
                                     "WHERE household_id = 'h-correct'"),
                    what="the next event handled")
        await _wait(lambda: db.value("SELECT count(*) = 1 FROM alerts "
                                     "WHERE household_id = 'h-correct'"),
                    what="the next event's alert")
        figures["seconds_to_park_and_pass"] = round(time.monotonic() - t0, 1)
        letters = await db.fetch("SELECT consumer_group, event_id, event_type, attempts, error, "
                                 "partition, \"offset\" FROM dead_letters ORDER BY consumer_group")
        assert [(r["consumer_group"], r["event_id"], r["attempts"]) for r in letters] == [
            (g, fixed.id, ATTEMPTS) for g in GROUPS]
        assert all("ValidationError" in r["error"] for r in letters), letters
        good_offsets = await db.fetch("SELECT event_id FROM inbox WHERE event_id = $1", good.id)
        assert len(good_offsets) == 2  # handled by both groups, after the poison's offset

        # The DLQ topics hold it (published through monitoring's outbox).
        async def dlq_ready():
            counts = await topic_counts(prefix)
            return all(counts.get(dead_letter_topic(g), 0) == 1 for g in GROUPS) and counts

        counts = await _wait(dlq_ready, what="one record on each DLQ topic")
        for group in GROUPS:
            (record,) = await read_records(prefix, dead_letter_topic(group))
            parked = json.loads(record.value)
            assert parked["dead_letter"]["event_id"] == fixed.id
            assert parked["dead_letter"]["group"] == group
            assert json.loads(parked["value"])["id"] == fixed.id
        figures["dlq_records"] = {g: counts[dead_letter_topic(g)] for g in GROUPS}

        listed = run_fupin(["dlq", "list", "--service", "monitoring"], env, tmp_path)
        assert listed.returncode == 0, listed.stderr[-2000:]
        lines = listed.stdout.splitlines()
        assert len(lines) == 2 and all(fixed.id in ln and "parked" in ln
                                       and "ValidationError" in ln for ln in lines), lines
        figures["dlq_list_lines"] = len(lines)

        # Not fixed yet: a redrive changes nothing.
        again = run_fupin(["dlq", "redrive", "--service", "monitoring"], env, tmp_path)
        assert "monitoring: 0 redriven" in again.stdout, again.stdout + again.stderr[-2000:]

        # The fix: the producer is corrected and the parked copy replaced by the correct event.
        await db.fetch("UPDATE dead_letters SET value = $1 WHERE event_id = $2",
                       fixed.to_bytes().decode(), fixed.id)
        redriven = run_fupin(["dlq", "redrive", "--service", "monitoring"], env, tmp_path)
        assert "monitoring: 2 redriven" in redriven.stdout, (
            redriven.stdout + redriven.stderr[-2000:])
        assert await db.value("SELECT per_capita_net_income_fen FROM income_view "
                              "WHERE household_id = 'h-poison'") == 1_000_00
        assert await db.value("SELECT count(*) FROM alerts WHERE household_id = 'h-poison'") == 1
        assert await db.value("SELECT count(*) FROM inbox WHERE event_id = $1", fixed.id) == 2
        after = run_fupin(["dlq", "list", "--service", "monitoring"], env, tmp_path)
        assert after.stdout.strip() == "", after.stdout
        everything = run_fupin(["dlq", "list", "--service", "monitoring", "--all"], env,
                               tmp_path)
        assert everything.stdout.count("redriven") == 2, everything.stdout
        once_more = run_fupin(["dlq", "redrive", "--service", "monitoring"], env, tmp_path)
        assert "monitoring: 0 redriven" in once_more.stdout
        assert await db.value("SELECT count(*) FROM alerts WHERE household_id = 'h-poison'") == 1
        figures.update(redriven=2, parked_after_redrive=0, poison_event_type=IncomeRecorded.type)
        write_report("poison", figures)
    finally:
        proc.stop()
        await drop_database(name)
        try:
            await delete_topics(prefix)
        except Exception:
            pass


async def _dlq_topics_exist(prefix: str) -> bool:
    counts = await topic_counts(prefix)
    return all(dead_letter_topic(g) in counts for g in GROUPS)
