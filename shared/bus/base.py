"""What every bus offers: durable keyed topics, consumer groups and committed offsets."""

from __future__ import annotations

import abc
import collections
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass


class BusUnavailable(Exception):
    """The broker could not take or give messages right now; try again later."""


@dataclass(frozen=True)
class Outgoing:
    topic: str
    key: str
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


class Consumer(abc.ABC):
    """A member of a consumer group. Nothing is committed unless `commit` is called."""

    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def stop(self) -> None: ...

    @abc.abstractmethod
    async def poll(self, *, max_records: int = 500, timeout: float = 1.0) -> list[Record]:
        """Records after the current position; waits up to `timeout` when there are none."""

    @abc.abstractmethod
    async def commit(self, positions: dict[tuple[str, int], int]) -> None:
        """Persist, per (topic, partition), the offset of the next record to read."""

    @abc.abstractmethod
    async def lag(self) -> dict[tuple[str, int], int]:
        """Records not yet committed, per assigned (topic, partition)."""


class Bus(abc.ABC):
    kind: str

    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def stop(self) -> None: ...

    @abc.abstractmethod
    async def publish(self, messages: Sequence[Outgoing]) -> None:
        """Return once every message is durably accepted (in order per key), or raise."""

    @abc.abstractmethod
    def consumer(self, *, group: str, topics: Sequence[str]) -> Consumer: ...

    @abc.abstractmethod
    async def ensure_topics(self, topics: Sequence[str]) -> None: ...

    @abc.abstractmethod
    async def ping(self) -> bool:
        """True when the bus can be reached now (for /readyz)."""

    @abc.abstractmethod
    def scan_topic(self, topic: str, *, chunk: int = 1_000, last: int | None = None
                   ) -> AsyncIterator[list[Record]]:
        """Every record on a topic from the start, in chunks of at most `chunk` records, up
        to the end the topic had when the scan began (operations and tests; not for hot
        paths). Memory holds one chunk, however long the topic: a replay reads a province's
        history this way. Per partition, records come in offset order. With `last`, each
        partition is read from `last` records before that end, not from its start. Close
        the iterator (`contextlib.aclosing`) when leaving it early."""

    async def read_topic(self, topic: str, *, limit: int = 10_000) -> list[Record]:
        """The first `limit` records of a topic (tests and small topics)."""
        out: list[Record] = []
        async with contextlib.aclosing(self.scan_topic(topic)) as chunks:
            async for records in chunks:
                out.extend(records[:limit - len(out)])
                if len(out) >= limit:
                    break
        return out

    async def tail_topic(self, topic: str, count: int) -> list[Record]:
        """The last `count` records of a topic (what `fupin events` prints): each partition
        is read from `count` records before its end, and of what that reads the last `count`
        are kept, so a long topic costs no more than a short one."""
        if count <= 0:
            return []
        kept: collections.deque[Record] = collections.deque(maxlen=count)
        async with contextlib.aclosing(self.scan_topic(topic, last=count)) as chunks:
            async for records in chunks:
                kept.extend(records)
        return list(kept)
