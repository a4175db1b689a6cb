"""The unit of work handed to domain functions: a session plus buffered events and audit rows.

Events and audit entries are written to the service's own tables in the same transaction as
the domain change (transactional outbox), in one multi-row insert each at `flush()`.
Only the request wrapper and the consumer wrapper commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.crypto import PiiCipher
from shared.events.envelope import CloudEvent, EventData
from shared.ids import new_id
from shared.infra import InfraTables
from shared.logs import request_id_var


@dataclass
class Tx:
    session: AsyncSession
    service: str
    infra: InfraTables
    cipher: PiiCipher
    actor_fn: Callable[[], str] = lambda: "system"
    events: list[CloudEvent] = field(default_factory=list)
    audits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def actor(self) -> str:
        return self.actor_fn()

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def emit(self, payload: EventData, *, subject: str, region_code: str) -> CloudEvent:
        event = CloudEvent.of(payload, service=self.service, subject=subject,
                              region_code=region_code)
        self.events.append(event)
        return event

    def audit(self, action: str, resource_type: str, resource_id: str, *,
              region_code: str | None = None, before: dict | None = None,
              after: dict | None = None) -> None:
        """Record who changed what; snapshots must hold no plaintext ID number."""
        self.audits.append({
            "id": new_id(), "at": dt.datetime.now(dt.UTC), "action": action,
            "resource_type": resource_type, "resource_id": resource_id,
            "region_code": region_code, "before": before, "after": after,
            "request_id": request_id_var.get(),
        })

    async def flush(self) -> None:
        """Write buffered outbox and audit rows into the current transaction."""
        now = dt.datetime.now(dt.UTC)
        if self.events:
            rows = [{
                "event_id": e.id, "topic": _topic_of(e), "key": e.subject, "type": e.type,
                "payload": e.model_dump_json(), "created_at": now,
            } for e in self.events]
            await self.session.execute(self.infra.outbox.insert(), rows)
            self.events = []
        if self.audits:
            actor = self.actor
            await self.session.execute(self.infra.audit.insert(),
                                       [{**a, "actor": actor} for a in self.audits])
            self.audits = []
        await self.session.flush()


def _topic_of(event: CloudEvent) -> str:
    from shared.events.envelope import event_spec

    spec = event_spec(event.type)
    if spec is None:
        raise LookupError(f"event type not registered: {event.type}")
    return spec.topic
