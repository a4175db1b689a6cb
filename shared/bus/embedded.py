"""A durable, single-node event log in SQLite with Kafka's semantics for this project:
topics, keys, per-key order, consumer groups and committed offsets.

Every topic has one partition, so order is total per topic (and therefore per key).
Consumers in one group share the committed offset; the embedded runtime runs one
member per group (all services live in one process).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import aiosqlite

from shared.aio import woken
from shared.bus.base import Bus, BusUnavailable, Consumer, Outgoing, Record

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    topic TEXT NOT NULL, partition INTEGER NOT NULL, offset INTEGER NOT NULL,
    key TEXT, value BLOB NOT NULL, headers TEXT NOT NULL, ts REAL NOT NULL,
    PRIMARY KEY (topic, partition, offset)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS group_offsets (
    grp TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL,
    next_offset INTEGER NOT NULL, PRIMARY KEY (grp, topic, partition)
) WITHOUT ROWID;
"""

# Waiters per log file, so a publish wakes consumers of any bus object on the same file.
_waiters: dict[str, set[asyncio.Event]] = defaultdict(set)


class EmbeddedBus(Bus):
    kind = "embedded"

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        if self._db is not None:
            return
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            db = await aiosqlite.connect(self.path, timeout=30, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise BusUnavailable(f"event log unavailable: {type(exc).__name__}") from exc
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.executescript(_SCHEMA)
        self._db = db

    async def stop(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("EmbeddedBus used before start()")
        return self._db

    async def publish(self, messages: Sequence[Outgoing]) -> None:
        if not messages:
            return
        await self.start()
        async with self._lock:
            await self.db.execute("BEGIN IMMEDIATE")
            try:
                next_offsets: dict[str, int] = {}
                rows = []
                now = time.time()
                for msg in messages:
                    if msg.topic not in next_offsets:
                        cur = await self.db.execute(
                            "SELECT COALESCE(MAX(offset) + 1, 0) FROM records "
                            "WHERE topic = ? AND partition = 0", (msg.topic,))
                        next_offsets[msg.topic] = (await cur.fetchone())[0]
                    offset = next_offsets[msg.topic]
                    next_offsets[msg.topic] = offset + 1
                    headers = json.dumps([[k, v.decode("latin-1")] for k, v in msg.headers])
                    rows.append((msg.topic, 0, offset, msg.key, msg.value, headers, now))
                await self.db.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
                await self.db.execute("COMMIT")
            except BaseException:
                await self.db.execute("ROLLBACK")
                raise
        for event in list(_waiters[self.path]):
            event.set()

    def consumer(self, *, group: str, topics: Sequence[str]) -> Consumer:
        return EmbeddedConsumer(self, group, list(topics))

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        return None  # topics exist as soon as something is written to them

    async def ping(self) -> bool:
        try:
            await self.db.execute("SELECT 1")
        except Exception:
            return False
        return True

    async def scan_topic(self, topic: str, *, chunk: int = 1_000, last: int | None = None
                         ) -> AsyncIterator[list[Record]]:
        end = await self.end_offset(topic)
        after = -1 if last is None else max(-1, end - last - 1)  # one partition, no gaps
        while True:
            cur = await self.db.execute(
                "SELECT topic, partition, offset, key, value, headers FROM records "
                "WHERE topic = ? AND offset > ? AND offset < ? ORDER BY offset LIMIT ?",
                (topic, after, end, chunk))
            rows = await cur.fetchall()
            if not rows:
                return
            yield [_record(row) for row in rows]
            after = rows[-1][2]

    async def end_offset(self, topic: str) -> int:
        cur = await self.db.execute(
            "SELECT COALESCE(MAX(offset) + 1, 0) FROM records WHERE topic = ?", (topic,))
        return (await cur.fetchone())[0]


def _record(row: tuple) -> Record:
    headers = tuple((k, v.encode("latin-1")) for k, v in json.loads(row[5]))
    return Record(row[0], row[1], row[2], row[3], bytes(row[4]), headers)


class EmbeddedConsumer(Consumer):
    def __init__(self, bus: EmbeddedBus, group: str, topics: list[str]) -> None:
        self.bus, self.group, self.topics = bus, group, topics
        self._positions: dict[str, int] = {}
        self._wake = asyncio.Event()

    async def start(self) -> None:
        await self.bus.start()
        _waiters[self.bus.path].add(self._wake)
        for topic in self.topics:
            cur = await self.bus.db.execute(
                "SELECT next_offset FROM group_offsets WHERE grp = ? AND topic = ? AND partition = 0",
                (self.group, topic))
            row = await cur.fetchone()
            self._positions[topic] = row[0] if row else 0

    async def stop(self) -> None:
        _waiters[self.bus.path].discard(self._wake)

    async def poll(self, *, max_records: int = 500, timeout: float = 1.0) -> list[Record]:
        deadline = time.monotonic() + timeout
        while True:
            self._wake.clear()
            records = await self._fetch(max_records)
            remaining = deadline - time.monotonic()
            if records or remaining <= 0:
                return records
            # Another process may write the same file: poll at least every 100 ms.
            await woken(self._wake, min(remaining, 0.1))

    async def _fetch(self, max_records: int) -> list[Record]:
        out: list[Record] = []
        for topic in self.topics:
            if len(out) >= max_records:
                break
            cur = await self.bus.db.execute(
                "SELECT topic, partition, offset, key, value, headers FROM records "
                "WHERE topic = ? AND partition = 0 AND offset >= ? ORDER BY offset LIMIT ?",
                (topic, self._positions[topic], max_records - len(out)))
            rows = [_record(r) for r in await cur.fetchall()]
            if rows:
                self._positions[topic] = rows[-1].offset + 1
                out.extend(rows)
        return out

    async def commit(self, positions: dict[tuple[str, int], int]) -> None:
        await self.bus.db.executemany(
            "INSERT INTO group_offsets VALUES (?, ?, ?, ?) ON CONFLICT (grp, topic, partition) "
            "DO UPDATE SET next_offset = excluded.next_offset",
            [(self.group, t, p, off) for (t, p), off in positions.items()])

    async def seek_to_committed(self) -> None:
        await self.start()

    async def lag(self) -> dict[tuple[str, int], int]:
        out = {}
        for topic in self.topics:
            end = await self.bus.end_offset(topic)
            cur = await self.bus.db.execute(
                "SELECT next_offset FROM group_offsets WHERE grp = ? AND topic = ? AND partition = 0",
                (self.group, topic))
            row = await cur.fetchone()
            out[(topic, 0)] = end - (row[0] if row else 0)
        return out
