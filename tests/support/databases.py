"""Per-test PostgreSQL databases cloned from migrated templates (one per service), and empty
scratch databases."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import create_engine
from shared.migrate import upgrade
from shared.service import ServiceDefinition
from tests.support.servers import Servers


def template_name(definition: ServiceDefinition) -> str:
    digest = hashlib.sha256()
    for path in sorted(definition.migrations.rglob("*.py")):
        digest.update(path.read_bytes())
    return f"tmpl_{definition.name}_{digest.hexdigest()[:10]}"


async def ensure_template(servers: Servers, definition: ServiceDefinition) -> str:
    name = template_name(definition)
    conn = await asyncpg.connect(servers.pg_admin_dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return name
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    engine = create_engine(servers.pg_url(name), pool_size=1)
    try:
        await upgrade(engine, definition.migrations)
    finally:
        await engine.dispose()
    return name


def prepare_templates(servers: Servers, definitions: list[ServiceDefinition]) -> dict[str, str]:
    async def run() -> dict[str, str]:
        return {d.name: await ensure_template(servers, d) for d in definitions}

    # Called from inside pytest-asyncio's running loop: run in a thread of its own.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


async def _admin(servers: Servers, sql: str) -> None:
    """One statement as the server's administrator (CREATE / DROP DATABASE)."""
    conn = await asyncpg.connect(servers.pg_admin_dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def clone(servers: Servers, template: str, service: str) -> str:
    name = f"t_{service}_{uuid.uuid4().hex[:12]}"
    await _admin(servers, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name


@contextlib.asynccontextmanager
async def scratch_engine(servers: Servers, label: str, *, pool_size: int = 1
                         ) -> AsyncIterator[AsyncEngine]:
    """An engine (`shared.db.create_engine`) on a new empty database, dropped afterwards."""
    name = f"t_{label}_{uuid.uuid4().hex[:10]}"
    await _admin(servers, f'CREATE DATABASE "{name}"')
    engine = create_engine(servers.pg_url(name), pool_size=pool_size)
    try:
        yield engine
    finally:
        await engine.dispose()
        await drop(servers, name)


async def drop(servers: Servers, name: str) -> None:
    await _admin(servers, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def dump(servers: Servers, name: str) -> bytes:
    """`pg_dump --data-only` of a test database, as an operator's backup would hold it."""
    import glob
    import shutil

    pg_dump = shutil.which("pg_dump") or sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"))[-1]
    dsn = servers.pg_admin_dsn.rsplit("/", 1)[0] + f"/{name}"
    proc = await asyncio.create_subprocess_exec(
        pg_dump, "--data-only", "--no-owner", dsn,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"pg_dump failed: {err.decode()[-500:]}")
    return out


async def terminate(servers: Servers, pid: int) -> None:
    """End one backend (as a restart or a failover would) and wait until it is gone."""
    admin = await asyncpg.connect(servers.pg_admin_dsn)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
        for _ in range(100):
            if not await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
                                        pid):
                return
            await asyncio.sleep(0.02)
    finally:
        await admin.close()


def count_pings(monkeypatch) -> list[int]:
    """Count the pings the pool's checkout event sends (the adapted asyncpg connection's
    `ping`): the returned list's one item grows with each."""
    from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection

    pings = [0]
    original = AsyncAdapt_asyncpg_connection.ping

    def ping(self):
        pings[0] += 1
        return original(self)

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", ping)
    return pings
