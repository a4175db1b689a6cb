"""Apache Kafka through aiokafka: idempotent producer with acks=all, manual offset commits."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from shared.bus.base import Bus, BusUnavailable, Consumer, Outgoing, Record

log = logging.getLogger("fupin.bus.kafka")


class KafkaBus(Bus):
    kind = "kafka"

    def __init__(self, bootstrap: str, *, partitions: int = 3, request_timeout_ms: int = 10_000,
                 prefix: str = "") -> None:
        self.bootstrap = bootstrap
        self.prefix = prefix
        self.partitions = partitions
        self.request_timeout_ms = request_timeout_ms
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()
        self._known_topics: set[str] = set()

    async def start(self) -> None:
        """Nothing to do eagerly: the producer connects on first use, so a service can start
        (and its outbox keep filling) while the broker is down."""

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap, enable_idempotence=True, acks="all",
                linger_ms=2, request_timeout_ms=self.request_timeout_ms,
            )
            try:
                await producer.start()
            except BaseException as exc:
                # Also when the start is cancelled (shutdown while the relay connects): a
                # half-started client keeps its metadata and connection tasks running.
                await producer.stop()
                if isinstance(exc, KafkaError):
                    raise BusUnavailable(str(exc)) from exc
                raise
            self._producer = producer
        return self._producer

    async def publish(self, messages: Sequence[Outgoing]) -> None:
        if not messages:
            return
        async with self._lock:
            producer = await self._ensure_producer()
            try:
                futures = [
                    await producer.send(self.prefix + m.topic, m.value, key=m.key.encode(),
                                        headers=list(m.headers))
                    for m in messages
                ]
                await asyncio.gather(*futures)
            except (KafkaError, TimeoutError) as exc:
                # A fresh producer next time: the old one's sequence state is unknown.
                self._producer = None
                await producer.stop()
                raise BusUnavailable(str(exc)) from exc

    def consumer(self, *, group: str, topics: Sequence[str]) -> Consumer:
        return KafkaConsumer(self.bootstrap, group, list(topics), prefix=self.prefix)

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        missing = [t for t in topics if t not in self._known_topics]
        if not missing:
            return
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap,
                                    request_timeout_ms=self.request_timeout_ms)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            # Kept forever: projections are rebuilt by replaying topics from the start.
            new = [NewTopic(self.prefix + t, self.partitions, 1,
                            topic_configs={"retention.ms": "-1"})
                   for t in missing if self.prefix + t not in existing]
            if new:
                try:
                    await admin.create_topics(new)
                except TopicAlreadyExistsError:
                    pass
        except KafkaError as exc:
            raise BusUnavailable(str(exc)) from exc
        finally:
            await admin.close()
        self._known_topics.update(missing)

    async def ping(self) -> bool:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=3000)
        try:
            await asyncio.wait_for(admin.start(), timeout=5)
            await asyncio.wait_for(admin.list_topics(), timeout=5)
            return True
        except Exception:
            return False
        finally:
            await admin.close()

    async def scan_topic(self, topic: str, *, chunk: int = 1_000, last: int | None = None
                         ) -> AsyncIterator[list[Record]]:
        partitions = await self._partitions(self.prefix + topic)
        if not partitions:
            return
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False,
                                    auto_offset_reset="earliest")
        await consumer.start()
        try:
            tps = [TopicPartition(self.prefix + topic, p) for p in partitions]
            consumer.assign(tps)
            ends = await consumer.end_offsets(tps)
            if last is None:
                await consumer.seek_to_beginning(*tps)
            else:  # retention may have removed a partition's first records
                starts = await consumer.beginning_offsets(tps)
                for tp in tps:
                    consumer.seek(tp, max(starts[tp], ends[tp] - last))
            while any([await _behind(consumer, tp, ends) for tp in tps]):
                batch = await consumer.getmany(timeout_ms=1000, max_records=chunk)
                records = [_record(m, self.prefix) for tp, msgs in batch.items()
                           for m in msgs if m.offset < ends[tp]]
                if records:
                    yield records
        finally:
            await consumer.stop()

    async def _partitions(self, topic: str) -> list[int]:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap,
                                    request_timeout_ms=self.request_timeout_ms)
        try:
            await admin.start()
            described = await admin.describe_topics([topic])
        finally:
            await admin.close()
        found = [d for d in described if d.get("topic") == topic and not d.get("error_code")]
        return sorted(p["partition"] for d in found for p in d.get("partitions", []))


async def _behind(consumer: AIOKafkaConsumer, tp: TopicPartition, ends: dict) -> bool:
    return await consumer.position(tp) < ends[tp]


def _record(m, prefix: str) -> Record:
    return Record(m.topic.removeprefix(prefix), m.partition, m.offset,
                  m.key.decode() if m.key else None, m.value, tuple(m.headers or ()))


class KafkaConsumer(Consumer):
    def __init__(self, bootstrap: str, group: str, topics: list[str], *, prefix: str = "") -> None:
        self.group = group
        self.prefix = prefix
        self._consumer = AIOKafkaConsumer(
            *(prefix + t for t in topics), bootstrap_servers=bootstrap, group_id=prefix + group,
            enable_auto_commit=False, auto_offset_reset="earliest", max_poll_interval_ms=300_000,
            session_timeout_ms=10_000, heartbeat_interval_ms=1_000,
        )

    async def start(self) -> None:
        try:
            await self._consumer.start()
        except BaseException as exc:
            # A start that fails or is cancelled (a short-lived app shut down while its
            # consumers join their groups) leaves the fetcher, coordinator and connection
            # tasks running unless the consumer is stopped.
            await self._consumer.stop()
            if isinstance(exc, KafkaError):
                raise BusUnavailable(str(exc)) from exc
            raise

    async def stop(self) -> None:
        await self._consumer.stop()

    async def poll(self, *, max_records: int = 500, timeout: float = 1.0) -> list[Record]:
        batch = await self._consumer.getmany(timeout_ms=int(timeout * 1000),
                                             max_records=max_records)
        records = [_record(m, self.prefix) for msgs in batch.values() for m in msgs]
        records.sort(key=lambda r: (r.topic, r.partition, r.offset))
        return records

    async def commit(self, positions: dict[tuple[str, int], int]) -> None:
        await self._consumer.commit(
            {TopicPartition(self.prefix + t, p): off for (t, p), off in positions.items()})

    async def seek_to_committed(self) -> None:
        """Rewind every assigned partition to its committed offset (after a failed batch)."""
        for tp in self._consumer.assignment():
            committed = await self._consumer.committed(tp)
            if committed is None:
                await self._consumer.seek_to_beginning(tp)
            else:
                self._consumer.seek(tp, committed)

    async def lag(self) -> dict[tuple[str, int], int]:
        out = {}
        for tp in self._consumer.assignment():
            high = self._consumer.highwater(tp)
            committed = await self._consumer.committed(tp)
            if high is not None:
                out[(tp.topic.removeprefix(self.prefix), tp.partition)] = high - (committed or 0)
        return out
