"""A test harness that runs services on either backend:

- `embedded`: SQLite files and the embedded event log in a temporary directory;
- `real`: a fresh PostgreSQL database per service (cloned from a migrated template) and
  Kafka with topics and groups under a per-test prefix.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

import services
from shared.app import create_app
from shared.auth import SCOPES, TokenCodec
from shared.bus import Bus, bus_from_settings
from shared.service import ServiceRuntime
from shared.settings import Settings
from tests.support import databases, pii
from tests.support.servers import Servers, new_prefix

JWT_SECRET = "test-secret-for-fupin-tests-only"


class Platform:
    def __init__(self, backend: str, tmp_path: Path, servers: Servers | None,
                 templates: dict[str, str] | None) -> None:
        self.backend = backend
        self.tmp_path = tmp_path
        self.servers = servers
        self.templates = templates or {}
        self.prefix = new_prefix()
        self.database_urls: dict[str, str] = {}
        self.apps: dict[str, FastAPI] = {}
        self.clients: dict[str, httpx.AsyncClient] = {}
        self._stack = contextlib.AsyncExitStack()
        self._databases: list[str] = []
        self.tokens = TokenCodec(JWT_SECRET)

    @property
    def real(self) -> bool:
        return self.backend == "real"

    async def database_url(self, service: str) -> str:
        if service not in self.database_urls:
            if self.real:
                assert self.servers is not None
                name = await databases.clone(self.servers, self.templates[service], service)
                self._databases.append(name)
                self.database_urls[service] = self.servers.pg_url(name)
            else:
                self.database_urls[service] = f"sqlite+aiosqlite:///{self.tmp_path / service}.db"
        return self.database_urls[service]

    async def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "env": "test", "data_dir": self.tmp_path, "jwt_secret": JWT_SECRET,
            "topic_prefix": self.prefix, "relay_idle_seconds": 0.05,
            "consumer_max_attempts": 3,
            "pii_key": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
            "blind_index_key": "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=",
        }
        for service, url in self.database_urls.items():
            values[f"{service}_database_url"] = url
        if self.real:
            assert self.servers is not None
            values.update(bus="kafka", kafka_bootstrap=self.servers.kafka_bootstrap)
        values.update(overrides)
        return Settings(**values)

    async def start(self, *names: str, separate: bool = False, background: bool = True,
                    **overrides: Any) -> None:
        """Start the named services: one app holding them all, or one app each."""
        for name in names:
            await self.database_url(name)
        groups = [[n] for n in names] if separate else [list(names)]
        for group in groups:
            settings = await self.settings(**overrides)
            app = create_app(services.definitions(group), settings=settings,
                             background=background)
            await self._stack.enter_async_context(app.router.lifespan_context(app))
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                       base_url="http://test",
                                       event_hooks={"request": [pii.record_request]})
            await self._stack.enter_async_context(client)
            for name in group:
                self.apps[name] = app
                self.clients[name] = client

    def runtime(self, service: str) -> ServiceRuntime:
        return self.apps[service].state.services[service]

    def client(self, service: str) -> httpx.AsyncClient:
        return self.clients[service]

    async def new_bus(self) -> Bus:
        """A separate bus connection on the same log (another process's view of it)."""
        settings = await self.settings()
        bus = bus_from_settings(settings)
        await bus.start()
        self._stack.push_async_callback(bus.stop)
        return bus

    def token(self, *, scopes: list[str] | None = None, region: str = "",
              sub: str = "tester") -> str:
        return self.tokens.mint(sub=sub, scopes=list(SCOPES) if scopes is None else scopes,
                                region=region)

    def auth(self, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(**kwargs)}"}

    async def close(self) -> None:
        # Bounded: a shutdown that hangs fails this test with a timeout, not the whole run.
        await asyncio.wait_for(self._stack.aclose(), timeout=120)
        if self.real and self.servers is not None:
            for name in self._databases:
                pii.LEDGER.scan(await databases.dump(self.servers, name), f"database {name}")
                pii.LEDGER.databases += 1
                await databases.drop(self.servers, name)
        else:
            for path in sorted(self.tmp_path.glob("*.db*")):
                pii.LEDGER.scan(path.read_bytes(), f"file {path.name}")
                pii.LEDGER.databases += path.suffix == ".db"


async def eventually(check: Callable[[], Awaitable[Any]], *, timeout: float = 20.0,
                     interval: float = 0.05) -> Any:
    """Wait until `check()` returns something truthy (asynchronous effects across services)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")
