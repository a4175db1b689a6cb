"""Helpers for the tasks tests: API shortcuts, publishing upstream events, no-write checks."""

from __future__ import annotations

from typing import Any

from shared.bus.base import Outgoing
from shared.events.envelope import CloudEvent, EventData
from tests.support.db import count

COUNTY = "430902"
TOWNSHIP = "430902100"
VILLAGE = "430902100201"
OTHER_COUNTY = "430903"
API = "/api/v1/tasks"
WRITTEN = ("units", "officials", "plans", "tasks", "task_progress", "rectifications", "pairings",
           "outbox")


class TasksApi:
    def __init__(self, platform) -> None:
        self.p = platform
        self.client = platform.client("tasks")
        self.rt = platform.runtime("tasks")

    def auth(self, **kw: Any) -> dict[str, str]:
        return self.p.auth(**kw)

    async def post(self, path: str, body: Any = None, *, status: int | None = None,
                   headers: dict | None = None, **kw: Any):
        r = await self.client.post(API + path, json=body, headers=headers or self.auth(), **kw)
        if status is not None:
            assert r.status_code == status, r.text
        return r

    async def get(self, path: str, *, headers: dict | None = None, **kw: Any):
        return await self.client.get(API + path, headers=headers or self.auth(), **kw)

    async def unit(self, name: str = "区扶贫办", region: str = COUNTY) -> dict:
        return (await self.post("/units", {"name": name, "region_code": region}, status=201)).json()

    async def official(self, unit_id: str, name: str = "周军", title: str = "副区长") -> dict:
        return (await self.post("/officials", {"name": name, "title": title, "unit_id": unit_id},
                                status=201)).json()

    async def task(self, lead_unit_id: str, **overrides: Any) -> dict:
        body = {"title": "新改建农村公路", "region_code": COUNTY, "lead_unit_id": lead_unit_id,
                "cooperating_unit_ids": [], "due_on": "2030-12-31"}
        body.update(overrides)
        return (await self.post("/tasks", body, status=201)).json()

    async def snapshot(self) -> dict[str, int]:
        return {t: await count(self.rt, t) for t in WRITTEN}

    async def rejected(self, path: str, body: Any, *, status: int, code: str,
                       headers: dict | None = None) -> dict:
        """Send a request that must fail, and check that nothing was stored or emitted."""
        before = await self.snapshot()
        r = await self.post(path, body, headers=headers)
        assert r.status_code == status, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"][0]["code"] == code, r.json()
        assert await self.snapshot() == before
        return r.json()


async def publish(platform, payload: EventData, *, service: str, subject: str,
                  region_code: str, event: CloudEvent | None = None) -> CloudEvent:
    """Put an upstream event on the real bus, as the upstream service's relay would."""
    event = event or CloudEvent.of(payload, service=service, subject=subject,
                                   region_code=region_code)
    bus = await platform.new_bus()
    await bus.ensure_topics([payload.topic])
    await bus.publish([Outgoing(payload.topic, subject, event.to_bytes())])
    return event
