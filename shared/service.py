"""A service's definition (what it is) and runtime (what it holds while running)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import sqlalchemy as sa
from fastapi import APIRouter
from prometheus_client import Gauge
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.bus.base import Bus
from shared.consumer import Subscription
from shared.crypto import PiiCipher
from shared.infra import InfraTables
from shared.outbox import OutboxRelay
from shared.settings import Settings
from shared.tx import Tx


@dataclass(frozen=True)
class Projection:
    """Local state built only from other services' events, rebuildable by `fupin replay`.

    Its handlers must only write `tables` (no alerts, tasks or events), so replaying the
    topics from the start reproduces the same rows."""

    subscription: Subscription
    tables: Sequence[str]


@dataclass(frozen=True)
class GaugeQuery:
    """A domain gauge refreshed at each scrape of /metrics: `sql` returns (region, value)
    rows and may use `:today` (the Asia/Shanghai date)."""

    gauge: Gauge
    sql: str


@dataclass(frozen=True)
class ServiceDefinition:
    name: str
    router: APIRouter
    metadata: sa.MetaData
    infra: InfraTables
    migrations: Path
    enums: Sequence[type[Enum]] = ()
    subscriptions: Sequence[Subscription] = ()
    projections: Sequence[Projection] = ()
    background: Sequence[Callable[[ServiceRuntime], Awaitable[None]]] = ()
    topics: Sequence[str] = ()
    encrypted_columns: Sequence[tuple[str, str, str]] = ()
    gauges: Sequence[GaugeQuery] = ()
    examples: Mapping[tuple[str, str], dict] = field(default_factory=dict)
    """Request-body examples for the OpenAPI document, by (method, path)."""
    """(table, primary-key column, ciphertext column) that `fupin keys rotate` re-encrypts."""

    def all_subscriptions(self) -> list[Subscription]:
        return [*(p.subscription for p in self.projections), *self.subscriptions]


@dataclass
class ServiceRuntime:
    definition: ServiceDefinition
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    bus: Bus
    cipher: PiiCipher
    relay: OutboxRelay
    state: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def infra(self) -> InfraTables:
        return self.definition.infra

    def new_tx(self, session: AsyncSession, *, actor: str | Callable[[], str] = "system") -> Tx:
        actor_fn = actor if callable(actor) else (lambda: actor)
        return Tx(session=session, service=self.name, infra=self.infra, cipher=self.cipher,
                  actor_fn=actor_fn)

    def subscription(self, group: str) -> Subscription | None:
        return next((s for s in self.definition.all_subscriptions() if s.group == group), None)
