"""examples/subscriber against the real Kafka broker the project's scripts start.

Each test has topics and a consumer group of its own (a fresh prefix), produces CloudEvents
the way fupin's relay does (key = subject), runs the subscriber and reads its SQLite file and
the group's committed offsets.
"""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.support.servers import Servers, new_prefix

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "subscriber" / "subscriber.py"
REGISTERED = "cn.fupin.registry.household.registered"
INCOME = "cn.fupin.registry.household.income_recorded"
VILLAGE_A = "430902100201"
VILLAGE_B = "430902100202"


def _load_subscriber():
    spec = importlib.util.spec_from_file_location("fupin_example_subscriber", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


sub = _load_subscriber()


# ---------------------------------------------------------------- helpers


def cloud_event(type_: str, subject: str, data: dict, *, event_id: str | None = None,
                region: str = "") -> dict:
    return {"specversion": "1.0", "id": event_id or str(uuid.uuid4()),
            "source": "/fupin/registry", "type": type_, "subject": subject,
            "time": "2026-11-23T06:00:00Z", "datacontenttype": "application/json",
            "regioncode": region, "data": data}


def registered(household_id: str, region: str, *, event_id: str | None = None) -> dict:
    return cloud_event(REGISTERED, household_id, {
        "household_id": household_id, "household_no": f"NO-{household_id[:8]}",
        "region_code": region, "status": "poor", "attribute": "general",
        "identified_year": 2016, "primary_cause": "illness", "secondary_causes": [],
        "members": []}, event_id=event_id, region=region)


def income(household_id: str, region: str) -> dict:
    return cloud_event(INCOME, household_id, {
        "household_id": household_id, "region_code": region, "year": 2025,
        "net_income_fen": 1_000_000, "per_capita_net_income_fen": 500_000, "member_count": 2},
        region=region)


def message(event: dict) -> tuple[bytes, bytes]:
    return event["subject"].encode(), json.dumps(event).encode()


class Topic:
    """A fresh one-partition topic and consumer group on the shared test broker."""

    def __init__(self, servers: Servers, tmp_path: Path) -> None:
        prefix = new_prefix("sub")
        self.bootstrap = servers.kafka_bootstrap
        self.name = prefix + "fupin.registry.households"
        self.group = prefix + "province-subscriber"
        self.db = str(tmp_path / "subscriber.db")
        self._stores = []

    def config(self, **overrides):
        return sub.Config(bootstrap=self.bootstrap, topics=(self.name,), group=self.group,
                          db_path=self.db, once=True, **overrides)

    async def create(self, partitions: int = 1) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(self.name, partitions, 1)])
        finally:
            await admin.close()

    async def produce(self, *messages: tuple[bytes | None, bytes | None]) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all",
                                    enable_idempotence=True)
        await producer.start()
        try:
            for key, value in messages:
                await producer.send_and_wait(self.name, value, key=key)
        finally:
            await producer.stop()

    async def committed(self) -> dict[int, int]:
        """The group's committed offset per partition (absent: nothing committed)."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(self.group)
        finally:
            await admin.close()
        return {tp.partition: meta.offset for tp, meta in offsets.items()
                if tp.topic == self.name and meta.offset >= 0}

    async def run(self, **kwargs):
        return await asyncio.wait_for(sub.run(self.config(), **kwargs), timeout=60)

    def store(self):
        """The subscriber's SQLite file, opened the way the subscriber opens it."""
        self._stores.append(sub.Store(self.db))
        return self._stores[-1]

    def close(self) -> None:
        for store in self._stores:
            store.close()


@pytest.fixture
async def topic(servers: Servers, tmp_path: Path):
    t = Topic(servers, tmp_path)
    await t.create()
    yield t
    t.close()


# ---------------------------------------------------------------- tests


async def test_the_same_event_twice_takes_effect_once(topic: Topic):
    h1, h2, h3 = (str(uuid.uuid4()) for _ in range(3))
    first = registered(h1, VILLAGE_A)
    await topic.produce(message(first), message(first),  # published twice: same id
                        message(registered(h2, VILLAGE_A)), message(registered(h3, VILLAGE_B)),
                        message(income(h1, VILLAGE_A)))

    result = await topic.run()

    assert (result.totals.applied, result.totals.duplicates) == (4, 1)
    store = topic.store()
    assert store.households_per_region() == {VILLAGE_A: 2, VILLAGE_B: 1}
    assert store.event_counts() == {REGISTERED: 3, INCOME: 1}
    assert await topic.committed() == {0: 5}


async def test_stopped_after_writing_before_committing_then_restarted(topic: Topic):
    households = [str(uuid.uuid4()) for _ in range(3)]
    await topic.produce(*(message(registered(h, VILLAGE_A)) for h in households))

    class Killed(Exception):
        pass

    async def die(offsets):
        raise Killed  # the batch is on disk; its offsets never reach Kafka

    with pytest.raises(Killed):
        await topic.run(before_commit=die)
    assert topic.store().households_per_region() == {VILLAGE_A: 3}
    assert await topic.committed() == {}

    # Restarted: Kafka redelivers all three; none takes effect a second time.
    result = await topic.run()
    assert (result.totals.applied, result.totals.duplicates) == (0, 3)
    assert topic.store().households_per_region() == {VILLAGE_A: 3}
    assert topic.store().event_counts() == {REGISTERED: 3}
    assert await topic.committed() == {0: 3}

    # And new events after the redelivered ones still count.
    await topic.produce(message(registered(str(uuid.uuid4()), VILLAGE_B)))
    result = await topic.run()
    assert (result.totals.applied, result.totals.duplicates) == (1, 0)
    assert topic.store().households_per_region() == {VILLAGE_A: 3, VILLAGE_B: 1}


async def test_unknown_types_are_skipped_and_committed(topic: Topic):
    h = str(uuid.uuid4())
    future = cloud_event("cn.fupin.registry.household.something_new", h,
                         {"household_id": h}, region=VILLAGE_A)
    foreign = cloud_event("gov.other.thing.happened", h, {})
    await topic.produce(message(future), message(foreign), message(registered(h, VILLAGE_A)))

    result = await topic.run()

    assert (result.totals.unknown, result.totals.applied, result.totals.poison) == (2, 1, 0)
    store = topic.store()
    assert store.event_counts() == {REGISTERED: 1}
    assert store.households_per_region() == {VILLAGE_A: 1}
    assert await topic.committed() == {0: 3}
    # Committed: a restart does not read them again.
    again = await topic.run()
    assert again.batches == 0


async def test_a_poison_record_does_not_block_the_partition(topic: Topic):
    h1, h2, h3, h4 = (str(uuid.uuid4()) for _ in range(4))
    await topic.produce(
        message(registered(h1, VILLAGE_A)),
        (h2.encode(), b'{"specversion": "1.0", "id": '),            # offset 1: bad JSON
        message(registered(h2, VILLAGE_A)),
        (b"x", b"\xff\xfe not utf-8"),                                # offset 3: not text
        (h3.encode(), json.dumps({"hello": "world"}).encode()),      # offset 4: not a CloudEvent
        message(cloud_event(REGISTERED, h3, {"household_id": h3})),  # offset 5: no region_code
        message(registered(h4, VILLAGE_B)),
    )

    result = await topic.run()

    assert (result.totals.applied, result.totals.poison) == (3, 4)
    store = topic.store()
    assert store.households_per_region() == {VILLAGE_A: 2, VILLAGE_B: 1}
    assert store.event_counts() == {REGISTERED: 3}
    poison = store.poison_messages()
    assert [(p[1], p[2]) for p in poison] == [(0, 1), (0, 3), (0, 4), (0, 5)]
    assert "not JSON" in poison[0][3]
    assert "region_code" in poison[3][3]
    assert await topic.committed() == {0: 7}


async def test_sigterm_stops_it_cleanly_and_commits(topic: Topic, tmp_path: Path):
    """The script as an operator runs it: settings from the environment, stopped by SIGTERM."""
    events = [registered(str(uuid.uuid4()), VILLAGE_A) for _ in range(5)]
    await topic.produce(*(message(e) for e in events))
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUPIN_")}
    env.update(FUPIN_KAFKA_BOOTSTRAP=topic.bootstrap, FUPIN_SUBSCRIBER_TOPICS=topic.name,
               FUPIN_SUBSCRIBER_GROUP=topic.group, FUPIN_SUBSCRIBER_DB=topic.db)
    proc = subprocess.Popen([sys.executable, str(SCRIPT)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if Path(topic.db).exists():
                with sqlite3.connect(topic.db, timeout=5) as conn:
                    done = conn.execute("SELECT COUNT(*) FROM processed_events").fetchone()[0]
                if done == len(events):
                    break
            await asyncio.sleep(0.2)
        assert proc.poll() is None, proc.stdout.read().decode()
        assert await topic.committed() == {0: 5}  # committed after the write, while running
        proc.send_signal(signal.SIGTERM)
        out, _ = await asyncio.to_thread(proc.communicate, timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = out.decode()
    assert proc.returncode == 0, text
    assert "stopped: 5 applied, 0 duplicates" in text
    assert await topic.committed() == {0: 5}
    assert topic.store().households_per_region() == {VILLAGE_A: 5}


def test_it_stands_alone():
    """A government system copies the file: nothing but the standard library and aiokafka."""
    tree = ast.parse(SCRIPT.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"__future__"}
    assert third_party == {"aiokafka"}, third_party
    assert (ROOT / "examples" / "subscriber" / "README.md").exists()


def test_settings_come_from_arguments_or_the_environment():
    env = {"FUPIN_KAFKA_BOOTSTRAP": "kafka-a:9092,kafka-b:9092",
           "FUPIN_SUBSCRIBER_TOPICS": "fupin.registry.households, fupin.monitoring.cases",
           "FUPIN_SUBSCRIBER_GROUP": "hunan-civil-affairs", "FUPIN_SUBSCRIBER_DB": "/data/s.db"}
    config = sub.config_from([], env)
    assert config.bootstrap == "kafka-a:9092,kafka-b:9092"
    assert config.topics == ("fupin.registry.households", "fupin.monitoring.cases")
    assert (config.group, config.db_path, config.once) == ("hunan-civil-affairs", "/data/s.db",
                                                           False)
    config = sub.config_from(["--bootstrap", "b:1", "--topic", "x", "--topic", "y", "--once"], env)
    assert (config.bootstrap, config.topics, config.once) == ("b:1", ("x", "y"), True)
    assert sub.config_from([], {}).topics == ("fupin.registry.households",)


async def test_reads_the_events_fupin_itself_writes(topic: Topic):
    """The envelope and payload exactly as the services build them (CloudEvent.of), and every
    type the subscriber knows is one fupin publishes."""
    from shared.events import registered_types
    from shared.events.envelope import CloudEvent
    from shared.events.registry import HouseholdRegistered, MemberFacts

    assert sub.KNOWN_TYPES <= set(registered_types())
    h = str(uuid.uuid4())
    payload = HouseholdRegistered(
        household_id=h, household_no="43090210020100001", region_code=VILLAGE_A, status="poor",
        attribute="general", identified_year=2016, primary_cause="illness", secondary_causes=[],
        members=[MemberFacts(member_id=str(uuid.uuid4()), relation="head", labor_ability="normal",
                             health="healthy", schooling="none", sex="female", birth_year=1949,
                             id_hash="0" * 64)])
    event = CloudEvent.of(payload, service="registry", subject=h, region_code=VILLAGE_A)
    await topic.produce((h.encode(), event.to_bytes()))

    result = await topic.run()

    assert (result.totals.applied, result.totals.poison) == (1, 0)
    assert topic.store().households_per_region() == {VILLAGE_A: 1}
    with sqlite3.connect(topic.db) as conn:
        assert conn.execute("SELECT household_no FROM households").fetchone() == (
            "43090210020100001",)
