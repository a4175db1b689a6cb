"""Fault-injection harness: a PostgreSQL cluster and a Kafka broker of the suite's own, started
through the project's scripts on other ports and directories, so that stopping, killing and
restarting them disturbs no other test (the shared servers on 25432 / 29092 are never touched).

Services run as real `fupin serve <service>` subprocesses on loopback; the faults are real:
`deploy/kafka.sh stop`, SIGKILL of a service process, `deploy/postgres.sh stop`/`start`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest

from shared.auth import SCOPES, TokenCodec
from tests.support.servers import FAULT_KAFKA_ENV, FAULT_KAFKA_PORT, ROOT

FAULT_PG_PORT = 25532
FAULT_PG_ENV = {"FUPIN_PG_PORT": str(FAULT_PG_PORT),
                "FUPIN_PG_DIR": str(ROOT / ".cache" / "pg-fault")}
FAULT_BOOTSTRAP = f"127.0.0.1:{FAULT_KAFKA_PORT}"
PG_ADMIN_DSN = f"postgresql://fupin:fupin@127.0.0.1:{FAULT_PG_PORT}/postgres"
PG_URL_BASE = f"postgresql+asyncpg://fupin:fupin@127.0.0.1:{FAULT_PG_PORT}"
REPORT_FILE = ROOT / ".cache" / "faults-report.json"

JWT_SECRET = "fault-suite-secret-0123456789abcdef-loopback-only"
PII_KEY = base64.b64encode(b"fault-suite-pii-key-32-bytes-ok!").decode()
BLIND_KEY = base64.b64encode(b"fault-suite-blind-index-32-bytes").decode()
FUPIN = Path(sys.executable).parent / "fupin"


# --- the fault servers --------------------------------------------------------------------------

def _script(name: str, action: str, env: dict[str, str], timeout: float = 300) -> str:
    result = subprocess.run(["bash", str(ROOT / "deploy" / f"{name}.sh"), action],
                            env={**os.environ, **env}, capture_output=True, text=True,
                            timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"deploy/{name}.sh {action} failed ({result.returncode}):\n"
                           + result.stdout[-2000:] + result.stderr[-2000:])
    return result.stderr


START_RETRIES: list[str] = []
"""Starts that failed and were retried (reported in the figures, never hidden)."""


def _start_or_stop(name: str, action: str, env: dict[str, str]) -> None:
    """`start` is retried: the fault ports (like the shared ones) lie in Linux's ephemeral
    range (32768-60999), and while a server is down its clients keep reconnecting on
    loopback, so the kernel may hand one of them the server's own port as the local end of
    a connection (a TCP self-connect); the server then fails with "Address already in use"
    until the client drops that socket. Seen with Kafka after the 20 s outage."""
    attempts = 4 if action == "start" else 1
    for attempt in range(1, attempts + 1):
        try:
            _script(name, action, env)
            return
        except RuntimeError as exc:
            if attempt == attempts:
                raise
            START_RETRIES.append(f"{name} {action}: {str(exc).splitlines()[0]}"
                                 f"{' (address in use)' if 'already in use' in str(exc) else ''}")
            time.sleep(3)


def pg_ctl_sync(action: str) -> None:
    _start_or_stop("postgres", action, FAULT_PG_ENV)


def kafka_ctl_sync(action: str) -> None:
    _start_or_stop("kafka", action, FAULT_KAFKA_ENV)


async def pg_ctl(action: str) -> None:
    await asyncio.to_thread(pg_ctl_sync, action)


async def kafka_ctl(action: str) -> None:
    await asyncio.to_thread(kafka_ctl_sync, action)


@dataclass(frozen=True)
class FaultServers:
    pg_admin_dsn: str = PG_ADMIN_DSN
    kafka_bootstrap: str = FAULT_BOOTSTRAP

    def pg_url(self, database: str) -> str:
        return f"{PG_URL_BASE}/{database}"


@pytest.fixture(scope="session")
def fault_servers() -> FaultServers:
    """Start the suite's own PostgreSQL (25532) and Kafka (29192); stop both at the end."""
    with ThreadPoolExecutor(2) as pool:
        for f in [pool.submit(pg_ctl_sync, "start"), pool.submit(kafka_ctl_sync, "start")]:
            f.result()
    with ThreadPoolExecutor(1) as pool:  # pytest-asyncio's loop may be running: a thread
        pool.submit(asyncio.run, drop_leftover_databases()).result()
    yield FaultServers()
    with ThreadPoolExecutor(2) as pool:
        for f in [pool.submit(pg_ctl_sync, "stop"), pool.submit(kafka_ctl_sync, "stop")]:
            f.result()


async def create_database(kind: str) -> str:
    """A fresh, empty database on the fault cluster (the service migrates it on start)."""
    name = f"fault_{kind}_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def drop_leftover_databases() -> int:
    """Databases an interrupted run of the suite left behind on the fault cluster."""
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        names = [r["datname"] for r in await conn.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE 'fault\\_%'")]
        for name in names:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
    return len(names)


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def pg_dump(name: str) -> bytes:
    """`pg_dump --data-only` of a fault database, as an operator's backup would hold it."""
    import glob
    import shutil

    binary = shutil.which("pg_dump") or sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"))[-1]
    proc = await asyncio.create_subprocess_exec(
        binary, "--data-only", "--no-owner",
        f"postgresql://fupin:fupin@127.0.0.1:{FAULT_PG_PORT}/{name}",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"pg_dump failed: {err.decode()[-500:]}")
    return out


class Db:
    """Direct reads of a fault database for the assertions (reconnects after a restart)."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def fetch(self, sql: str, *args) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(f"postgresql://fupin:fupin@127.0.0.1:{FAULT_PG_PORT}/"
                                     f"{self.name}")
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    async def value(self, sql: str, *args):
        rows = await self.fetch(sql, *args)
        return rows[0][0] if rows else None


# --- service processes --------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_env(prefix: str, databases: dict[str, str], **extra: str) -> dict[str, str]:
    """The environment of a `fupin` subprocess: only what the suite sets, no inherited FUPIN_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUPIN_")}
    env.update(FUPIN_ENV="test", FUPIN_BUS="kafka", FUPIN_KAFKA_BOOTSTRAP=FAULT_BOOTSTRAP,
               FUPIN_TOPIC_PREFIX=prefix, FUPIN_JWT_SECRET=JWT_SECRET, FUPIN_PII_KEY=PII_KEY,
               FUPIN_BLIND_INDEX_KEY=BLIND_KEY, FUPIN_LOG_LEVEL="INFO")
    for service, db in databases.items():
        env[f"FUPIN_{service.upper()}_DATABASE_URL"] = f"{PG_URL_BASE}/{db}"
    env.update(extra)
    return env


def run_fupin(args: list[str], env: dict[str, str], cwd: Path,
              timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(FUPIN), *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


@dataclass
class ServiceProcess:
    """`fupin serve <service>` on a loopback port, its output kept in a log file."""

    service: str
    env: dict[str, str]
    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.service}.log"

    def start(self) -> None:
        self.starts += 1
        log = self.log_path.open("ab")
        log.write(f"\n--- start {self.starts} ---\n".encode())
        log.flush()
        # cwd: a directory without a .env file, so only the environment above applies.
        self.proc = subprocess.Popen(
            [str(FUPIN), "serve", self.service, "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        log.close()

    async def wait_up(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.url, timeout=3) as client:
            while time.monotonic() < deadline:
                assert self.proc is not None and self.proc.poll() is None, (
                    f"{self.service} exited: {self.log_tail()}")
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"{self.service} not up in {timeout}s: {self.log_tail()}")

    def freeze(self) -> None:
        """SIGSTOP: the process stops where it is, mid-statement or mid-batch."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: no shutdown hook, no flush, no offset commit."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except FileNotFoundError:
            return ""


def token(scopes: list[str] | None = None, region: str = "", sub: str = "fault-suite") -> str:
    return TokenCodec(JWT_SECRET).mint(sub=sub, scopes=list(SCOPES) if scopes is None else scopes,
                                       region=region)


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {token()}"}


def new_prefix() -> str:
    return f"f{uuid.uuid4().hex[:10]}."


# --- topics on the fault broker -----------------------------------------------------------------

async def topic_counts(prefix: str) -> dict[str, int]:
    """Records per topic (sum of end offsets) of every topic under `prefix`."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=FAULT_BOOTSTRAP)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if t.startswith(prefix)]
        described = await admin.describe_topics(topics) if topics else []
    finally:
        await admin.close()
    tps = [TopicPartition(d["topic"], p["partition"]) for d in described
           for p in d.get("partitions", [])]
    counts = {t.removeprefix(prefix): 0 for t in topics}
    if not tps:
        return counts
    consumer = AIOKafkaConsumer(bootstrap_servers=FAULT_BOOTSTRAP, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(tps)
        begins = await consumer.beginning_offsets(tps)
    finally:
        await consumer.stop()
    for tp in tps:
        counts[tp.topic.removeprefix(prefix)] += ends[tp] - begins[tp]
    return counts


async def read_records(prefix: str, topic: str) -> list:
    from shared.bus.kafka import KafkaBus

    bus = KafkaBus(FAULT_BOOTSTRAP, prefix=prefix)
    try:
        return await bus.read_topic(topic, limit=10_000_000)
    finally:
        await bus.stop()


async def delete_topics(prefix: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=FAULT_BOOTSTRAP)
    await admin.start()
    try:
        doomed = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


# --- personal data and the report ---------------------------------------------------------------

_PLAIN = re.compile(rb"(?<![0-9A-Za-z])[1-9][0-9]{16}[0-9Xx](?![0-9A-Za-z])")
_HEX = re.compile(rb"(?:3[0-9]){17}(?:3[0-9]|58|78)", re.IGNORECASE)


def pii_leaks(used: set[str], content: bytes, where: str) -> list[str]:
    """Every ID number of `used` found in `content`, as text or hex-encoded (pg_dump writes
    bytea as hex). Set-based, so it stays fast with tens of thousands of numbers."""
    found = {m.decode().upper() for m in _PLAIN.findall(content)}
    found |= {bytes.fromhex(m.decode()).decode().upper() for m in _HEX.findall(content)}
    return [f"{where}: {n[:6]}…{n[-4:]}" for n in sorted(found & used)]


def write_report(section: str, figures: dict) -> None:
    """Merge one test's figures into .cache/faults-report.json (docs/reliability.md cites it)."""
    REPORT_FILE.parent.mkdir(parents=True, exist_ok=True)
    try:
        report = json.loads(REPORT_FILE.read_text())
    except (FileNotFoundError, ValueError):
        report = {}
    report[section] = {**figures, "server_start_retries": list(START_RETRIES),
                       "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                time.gmtime())}
    REPORT_FILE.write_text(json.dumps(report, indent=1, ensure_ascii=False, sort_keys=True))
    print(f"\nfault figures [{section}]: " + json.dumps(figures, ensure_ascii=False,
                                                         sort_keys=True))
