#!/usr/bin/env python3
"""A subscriber to fupin's events that another government system can copy.

It reads CloudEvents 1.0 (structured JSON) from fupin's Kafka topics and keeps, in a SQLite
file of its own:

* ``households``: every registered household and its 12-digit region code, from
  ``cn.fupin.registry.household.registered`` (``households_per_region`` counts them), and
* ``event_counts``: how many events of each type it has handled.

What makes it safe to copy (fupin delivers every event *at least once*):

1. Offsets are committed by hand (``enable_auto_commit=False``) and only *after* the
   subscriber's own write has been committed to disk. A crash between the two means the
   records come again, never that they are lost.
2. Records that come again are harmless: the event's CloudEvents ``id`` is inserted with
   ``INSERT OR IGNORE`` into ``processed_events`` in the *same* transaction as the effect.
   When the id is already there, the effect is skipped.
3. An event type this subscriber does not know (fupin may add types; see the integration
   contract) is logged and skipped; its offset is still committed.
4. A record that is not a CloudEvent at all (bad JSON, missing ``id``/``type``, a payload
   without the fields we need) is recorded in ``poison_messages`` and skipped, so one bad
   record never blocks the partition behind it.
5. SIGTERM / SIGINT stop it between batches: the batch in hand is written and committed, then
   the consumer leaves the group cleanly.

It depends on nothing but the Python standard library and aiokafka (``pip install
aiokafka``); it imports nothing from fupin. Run it with ``--help`` for the settings.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
import signal
import sqlite3
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

log = logging.getLogger("fupin-subscriber")

REGISTERED = "cn.fupin.registry.household.registered"

# The event types fupin's integration contract lists. The subscriber counts all of them and
# acts on REGISTERED; any other type is "unknown": logged and skipped (fupin may add types
# at any time without notice, so an unknown type is normal, not an error).
KNOWN_TYPES = frozenset(
    "cn.fupin." + t for t in (
        "registry.household.registered", "registry.household.updated",
        "registry.household.member_added", "registry.household.member_removed",
        "registry.household.income_recorded", "registry.household.guarantees_assessed",
        "registry.household.exited", "registry.household.relapsed",
        "registry.region.created", "registry.region.updated", "registry.region.exited",
        "monitoring.signal.received", "monitoring.alert.raised", "monitoring.alert.dismissed",
        "monitoring.case.enrolled", "monitoring.case.measure_added",
        "monitoring.case.risk_eliminated",
        "funds.source.registered", "funds.project.approved", "funds.allocation.made",
        "funds.disbursement.made", "funds.disbursement.reversed", "funds.alert.raised",
        "tasks.task.created", "tasks.task.progress_reported", "tasks.task.completed",
        "tasks.task.verified", "tasks.task.overdue", "tasks.rectification.opened",
        "tasks.rectification.closed", "tasks.pairing.assigned",
    ))

DEFAULT_TOPICS = ("fupin.registry.households",)


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Config:
    bootstrap: str = "127.0.0.1:9092"
    topics: tuple[str, ...] = DEFAULT_TOPICS
    # The consumer group names this subscriber to Kafka; Kafka keeps its committed offsets.
    # Keep it stable across restarts, and unique to this subscriber (another system that
    # uses the same group would steal half of the records).
    group: str = "province-subscriber"
    db_path: str = "subscriber.db"
    # Records fetched per batch: one SQLite transaction and one offset commit per batch.
    max_records: int = 500
    # Stop once every assigned partition is caught up (a cron job, a catch-up run, tests)
    # instead of waiting for new events until SIGTERM.
    once: bool = False
    log_level: str = "INFO"


def config_from(argv: Sequence[str] | None = None, env: dict[str, str] | None = None) -> Config:
    """Settings from the command line, falling back to environment variables."""
    env = dict(os.environ if env is None else env)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bootstrap", default=env.get("FUPIN_KAFKA_BOOTSTRAP", Config.bootstrap),
                   help="Kafka bootstrap servers, host:port[,host:port] "
                        "(env FUPIN_KAFKA_BOOTSTRAP; default %(default)s)")
    p.add_argument("--topic", action="append", dest="topics",
                   help="a topic to read; repeat for several (env FUPIN_SUBSCRIBER_TOPICS, "
                        "comma-separated; default " + ",".join(DEFAULT_TOPICS) + ")")
    p.add_argument("--group", default=env.get("FUPIN_SUBSCRIBER_GROUP", Config.group),
                   help="consumer group id (env FUPIN_SUBSCRIBER_GROUP; default %(default)s)")
    p.add_argument("--db", default=env.get("FUPIN_SUBSCRIBER_DB", Config.db_path),
                   help="this subscriber's SQLite file (env FUPIN_SUBSCRIBER_DB; "
                        "default %(default)s)")
    p.add_argument("--once", action="store_true",
                   help="stop once every assigned partition is caught up (e.g. from cron)")
    p.add_argument("--log-level", default=env.get("FUPIN_SUBSCRIBER_LOG_LEVEL", "INFO"))
    args = p.parse_args(argv)
    topics = args.topics or [t for t in env.get("FUPIN_SUBSCRIBER_TOPICS", "").split(",")
                             if t.strip()] or list(DEFAULT_TOPICS)
    return Config(bootstrap=args.bootstrap, topics=tuple(t.strip() for t in topics),
                  group=args.group, db_path=args.db, once=args.once,
                  log_level=args.log_level.upper())


# --------------------------------------------------------------------------- the store

SCHEMA = """
CREATE TABLE IF NOT EXISTS processed_events (   -- de-duplication by CloudEvents id
    event_id     TEXT PRIMARY KEY,
    type         TEXT NOT NULL,
    topic        TEXT NOT NULL,
    partition    INTEGER NOT NULL,
    "offset"     INTEGER NOT NULL,
    processed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS households (         -- the effect: households and their region
    household_id TEXT PRIMARY KEY,
    household_no TEXT,
    region_code  TEXT NOT NULL,
    registered_at TEXT                          -- the event's "time"
);
CREATE INDEX IF NOT EXISTS households_region ON households (region_code);
CREATE VIEW IF NOT EXISTS households_per_region AS
    SELECT region_code, COUNT(*) AS households FROM households GROUP BY region_code;
CREATE TABLE IF NOT EXISTS event_counts (       -- the effect: a counter per event type
    type       TEXT PRIMARY KEY,
    count      INTEGER NOT NULL,
    last_time  TEXT
);
CREATE TABLE IF NOT EXISTS poison_messages (    -- records that could not be read, kept
    topic       TEXT NOT NULL,
    partition   INTEGER NOT NULL,
    "offset"    INTEGER NOT NULL,
    key         TEXT,
    value       TEXT,
    error       TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (topic, partition, "offset")
);
"""


class PoisonMessage(ValueError):
    """The record itself is unusable; retrying can never help."""


@dataclass
class BatchResult:
    applied: int = 0        # events that took effect now
    duplicates: int = 0     # events already processed (a redelivery or a duplicate publish)
    unknown: int = 0        # event types this subscriber does not act on
    poison: int = 0         # records that are not usable CloudEvents

    def add(self, other: BatchResult) -> None:
        for name in ("applied", "duplicates", "unknown", "poison"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


class Store:
    """The subscriber's own SQLite database."""

    def __init__(self, path: str) -> None:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves. check_same_thread=False: the
        # connection is used from a worker thread (one at a time) so that disk writes never
        # block the event loop that keeps the Kafka session alive.
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a COMMIT is on disk before it returns. With less, a power cut could lose a
        # transaction whose offsets were already committed to Kafka: that event would be lost.
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA busy_timeout=10000")
        self.conn.executescript(SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def apply(self, records: Iterable[ConsumerRecord]) -> BatchResult:
        """Apply a batch in ONE transaction: every effect and its de-duplication row commit
        together, or (on an exception) none of them does."""
        result = BatchResult()
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            for record in records:
                result.add(self._apply_one(cur, record))
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        return result

    def _apply_one(self, cur: sqlite3.Cursor, record: ConsumerRecord) -> BatchResult:
        now = _now()
        try:
            event = parse_event(record.value)
        except PoisonMessage as exc:
            self._record_poison(cur, record, str(exc), now)
            return BatchResult(poison=1)

        if event["type"] not in KNOWN_TYPES:
            log.info("skipping unknown event type %s (id %s, %s[%d]@%d)", event["type"],
                     event["id"], record.topic, record.partition, record.offset)
            return BatchResult(unknown=1)

        # Claim the id. The row and the effect below are in the same transaction, so either
        # both are on disk or neither is: an event takes effect exactly once.
        cur.execute(
            "INSERT OR IGNORE INTO processed_events (event_id, type, topic, partition, \"offset\","
            " processed_at) VALUES (?, ?, ?, ?, ?, ?)",
            (event["id"], event["type"], record.topic, record.partition, record.offset, now))
        if cur.rowcount == 0:
            log.debug("duplicate event %s skipped", event["id"])
            return BatchResult(duplicates=1)

        # A savepoint so that a payload we cannot use undoes only this event's writes (and
        # its claim), not the rest of the batch.
        cur.execute("SAVEPOINT one_event")
        try:
            self._effect(cur, event)
        except PoisonMessage as exc:
            cur.execute("ROLLBACK TO one_event")
            cur.execute("RELEASE one_event")
            self._record_poison(cur, record, str(exc), now)
            return BatchResult(poison=1)
        cur.execute("RELEASE one_event")
        return BatchResult(applied=1)

    @staticmethod
    def _effect(cur: sqlite3.Cursor, event: dict) -> None:
        """What this subscriber does with an event. Replace with your system's own logic;
        keep every write on `cur` so it joins the de-duplication transaction."""
        if event["type"] == REGISTERED:
            data = event.get("data")
            if not isinstance(data, dict) or not isinstance(data.get("household_id"), str) \
                    or not isinstance(data.get("region_code"), str):
                raise PoisonMessage("registered event without data.household_id/region_code")
            cur.execute(
                "INSERT INTO households (household_id, household_no, region_code, registered_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (household_id) DO UPDATE SET"
                " region_code = excluded.region_code, household_no = excluded.household_no",
                (data["household_id"], data.get("household_no"), data["region_code"],
                 event.get("time")))
        cur.execute(
            "INSERT INTO event_counts (type, count, last_time) VALUES (?, 1, ?)"
            " ON CONFLICT (type) DO UPDATE SET count = count + 1, last_time = excluded.last_time",
            (event["type"], event.get("time")))

    @staticmethod
    def _record_poison(cur: sqlite3.Cursor, record: ConsumerRecord, error: str, now: str) -> None:
        # Keyed by position: a redelivered poison record is recorded once.
        log.warning("poison record %s[%d]@%d skipped: %s", record.topic, record.partition,
                    record.offset, error)
        cur.execute(
            "INSERT OR IGNORE INTO poison_messages (topic, partition, \"offset\", key, value,"
            " error, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (record.topic, record.partition, record.offset, _text(record.key),
             _text(record.value), error[:2000], now))

    # Read helpers (for reports and tests).

    def households_per_region(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT region_code, households FROM households_per_region"))

    def event_counts(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT type, count FROM event_counts"))

    def poison_messages(self) -> list[tuple[str, int, int, str]]:
        return list(self.conn.execute(
            "SELECT topic, partition, \"offset\", error FROM poison_messages"
            " ORDER BY topic, partition, \"offset\""))


def parse_event(value: bytes | None) -> dict:
    """A structured-mode CloudEvent, or PoisonMessage."""
    if value is None:
        raise PoisonMessage("empty record value")
    try:
        event = json.loads(value)
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or bad JSON
        raise PoisonMessage(f"not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise PoisonMessage("not a JSON object")
    for attribute in ("id", "type", "source", "specversion"):
        if not isinstance(event.get(attribute), str) or not event[attribute]:
            raise PoisonMessage(f"not a CloudEvent: no {attribute!r}")
    if event["specversion"] != "1.0":
        raise PoisonMessage(f"unsupported specversion {event['specversion']!r}")
    return event


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", "replace")[:100_000]


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")  # noqa: UP017 (3.9+)


# --------------------------------------------------------------------------- the loop


@dataclass
class RunResult:
    totals: BatchResult = field(default_factory=BatchResult)
    batches: int = 0


BeforeCommit = Callable[[dict[TopicPartition, int]], Awaitable[None]]


async def run(config: Config, stop: asyncio.Event | None = None, *,
              before_commit: BeforeCommit | None = None) -> RunResult:
    """Consume until `stop` is set (or, with `config.once`, until caught up).

    `before_commit` is called after a batch is on disk and before its offsets are committed
    (tests use it to stop the subscriber at the worst moment)."""
    stop = stop or asyncio.Event()
    store = Store(config.db_path)
    consumer = AIOKafkaConsumer(
        *config.topics,
        bootstrap_servers=config.bootstrap,
        group_id=config.group,
        enable_auto_commit=False,        # we commit, after our own write
        auto_offset_reset="earliest",    # a new group starts at the beginning (topics are
                                         # kept forever, so that is the whole history)
        isolation_level="read_committed",  # skip aborted writes if a producer uses
                                           # Kafka transactions (fupin's relay does not)
        max_poll_interval_ms=300_000,
    )
    result = RunResult()
    await consumer.start()
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=1000, max_records=config.max_records)
            records = [r for tp_records in batch.values() for r in tp_records]
            if records:
                # 1. our durable write (in a thread: the event loop keeps heartbeating)
                result.totals.add(await asyncio.to_thread(store.apply, records))
                result.batches += 1
                # 2. then the offsets: the next record to read, per partition
                offsets = {tp: tp_records[-1].offset + 1 for tp, tp_records in batch.items()}
                if before_commit is not None:
                    await before_commit(offsets)
                try:
                    await consumer.commit(offsets)
                except CommitFailedError as exc:
                    # The group rebalanced under us: the partitions may now belong to another
                    # member, which will read these records again. That is harmless (they
                    # are de-duplicated), so carry on.
                    log.warning("offset commit failed after a rebalance: %s", exc)
            elif config.once and await _caught_up(consumer):
                break
    finally:
        # Leaves the group; with auto-commit off this commits nothing we have not written.
        await consumer.stop()
        store.close()
    return result


async def _caught_up(consumer: AIOKafkaConsumer) -> bool:
    assigned = consumer.assignment()
    if not assigned:
        return False  # still joining the group
    ends = await consumer.end_offsets(list(assigned))
    for tp in assigned:
        if await consumer.position(tp) < ends[tp]:
            return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    config = config_from(argv)
    logging.basicConfig(level=config.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def _main() -> RunResult:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            # Finish the batch in hand, commit it, leave the group, exit 0.
            loop.add_signal_handler(sig, stop.set)
        log.info("reading %s from %s as group %s into %s", ",".join(config.topics),
                 config.bootstrap, config.group, config.db_path)
        return await run(config, stop)

    try:
        result = asyncio.run(_main())
    except KafkaError as exc:
        # Includes "cannot reach the brokers". Exit non-zero; a supervisor (systemd,
        # docker restart policy) starts us again and we resume from the committed offsets.
        log.error("Kafka error: %s", exc)
        return 1
    t = result.totals
    log.info("stopped: %d applied, %d duplicates, %d unknown types, %d poison records",
             t.applied, t.duplicates, t.unknown, t.poison)
    return 0


if __name__ == "__main__":
    sys.exit(main())
