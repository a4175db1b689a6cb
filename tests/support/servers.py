"""The real PostgreSQL and Kafka the project's own scripts start on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Below 32768: outside Linux's range of ephemeral ports, so a client's outgoing socket can
# never hold a test server's port while that server restarts.
PG_PORT = int(os.environ.get("FUPIN_PG_PORT", "25432"))
KAFKA_PORT = int(os.environ.get("FUPIN_KAFKA_PORT", "29092"))


@dataclass(frozen=True)
class Servers:
    pg_admin_dsn: str
    pg_url_base: str
    kafka_bootstrap: str

    def pg_url(self, database: str) -> str:
        return f"{self.pg_url_base}/{database}"


def _open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def ensure_servers() -> Servers:
    """Start PostgreSQL and Kafka through deploy/servers.sh unless they already answer."""
    if not (_open(PG_PORT) and _open(KAFKA_PORT)):
        result = subprocess.run(["bash", str(ROOT / "deploy" / "servers.sh"), "up"],
                                capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            raise RuntimeError("deploy/servers.sh up failed:\n" + result.stdout[-3000:]
                               + result.stderr[-3000:])
    return Servers(
        pg_admin_dsn=f"postgresql://fupin:fupin@127.0.0.1:{PG_PORT}/postgres",
        pg_url_base=f"postgresql+asyncpg://fupin:fupin@127.0.0.1:{PG_PORT}",
        kafka_bootstrap=f"127.0.0.1:{KAFKA_PORT}",
    )


FAULT_KAFKA_PORT = 29192
FAULT_KAFKA_ENV = {
    "FUPIN_KAFKA_PORT": str(FAULT_KAFKA_PORT),
    "FUPIN_KAFKA_CONTROLLER_PORT": str(FAULT_KAFKA_PORT + 1),
    "FUPIN_KAFKA_DIR": str(ROOT / ".cache" / "kafka" / "fault"),
}


async def kafka_ctl(action: str, *, fault_broker: bool = True) -> None:
    """Stop or start a broker through the project's script. Fault tests use a broker of
    their own (other ports, other data) so stopping it disturbs no other test."""
    import asyncio

    env = {**os.environ, **(FAULT_KAFKA_ENV if fault_broker else {})}
    proc = await asyncio.create_subprocess_exec(
        "bash", str(ROOT / "deploy" / "kafka.sh"), action, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"deploy/kafka.sh {action} failed: {out.decode()[-2000:]}")


USED_PREFIXES: set[str] = set()
"""Topic prefixes this test session used; only their topics are deleted at the end, so a
concurrent session's topics are left alone."""


def new_prefix(kind: str = "t") -> str:
    import uuid

    prefix = f"{kind}{uuid.uuid4().hex[:10]}."
    USED_PREFIXES.add(prefix)
    return prefix


def scan_test_events(servers: Servers, scan) -> int:
    """Feed every record on this session's topics to `scan(value, where)`; return the count."""
    import asyncio
    import concurrent.futures

    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    async def run() -> int:
        admin = AIOKafkaAdminClient(bootstrap_servers=servers.kafka_bootstrap)
        await admin.start()
        try:
            topics = [t for t in await admin.list_topics()
                      if t.split(".", 1)[0] + "." in USED_PREFIXES]
            described = await admin.describe_topics(topics) if topics else []
        finally:
            await admin.close()
        tps = [TopicPartition(d["topic"], p["partition"]) for d in described
               for p in d.get("partitions", [])]
        if not tps:
            return 0
        consumer = AIOKafkaConsumer(bootstrap_servers=servers.kafka_bootstrap,
                                    enable_auto_commit=False)
        await consumer.start()
        seen = 0
        try:
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            pending = {tp for tp in tps if ends[tp] > 0}
            while pending:
                batch = await consumer.getmany(timeout_ms=2000, max_records=5000)
                if not batch:
                    break
                for tp, messages in batch.items():
                    for m in messages:
                        scan(m.value or b"", f"event on {tp.topic}")
                        seen += 1
                    if await consumer.position(tp) >= ends[tp]:
                        pending.discard(tp)
        finally:
            await consumer.stop()
        return seen

    async def bounded() -> int:
        return await asyncio.wait_for(run(), timeout=600)

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, bounded()).result()


def delete_test_topics(servers: Servers) -> None:
    """Drop the topics this session created so the broker stays small."""
    import asyncio
    import concurrent.futures

    from aiokafka.admin import AIOKafkaAdminClient

    async def run() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=servers.kafka_bootstrap)
        await admin.start()
        try:
            doomed = [t for t in await admin.list_topics()
                      if t.split(".", 1)[0] + "." in USED_PREFIXES]
            for start in range(0, len(doomed), 200):
                await asyncio.wait_for(admin.delete_topics(doomed[start:start + 200]), 120)
        finally:
            await admin.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()
