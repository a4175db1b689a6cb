"""The overdue scheduler that runs inside the service (no external cron)."""

from __future__ import annotations

import asyncio
import logging

from pydantic_settings import BaseSettings, SettingsConfigDict

from services.tasks.domain.calendar import today
from services.tasks.domain.overdue import emit_overdue
from shared.aio import stop_if_cancelled
from shared.service import ServiceRuntime

log = logging.getLogger("fupin.tasks.scheduler")


class SchedulerSettings(BaseSettings):
    """`FUPIN_TASKS_OVERDUE_INTERVAL_SECONDS` (default 300): how often to look for tasks that
    passed their due date."""

    model_config = SettingsConfigDict(env_prefix="FUPIN_TASKS_", env_file=".env", extra="ignore")

    overdue_interval_seconds: float = 300.0


async def sweep_once(runtime: ServiceRuntime) -> int:
    """Emit every pending overdue event, batch by batch, each batch in its own transaction."""
    total = 0
    while True:
        async with runtime.sessionmaker() as session:
            tx = runtime.new_tx(session, actor="scheduler:overdue")
            found = await emit_overdue(tx, today=today())
            await tx.flush()
            await session.commit()
        total += found
        if found:
            runtime.relay.wake()
        else:
            return total


async def overdue_job(runtime: ServiceRuntime) -> None:
    interval = SchedulerSettings().overdue_interval_seconds
    while True:
        try:
            found = await sweep_once(runtime)
            if found:
                log.info("tasks overdue: %d events emitted", found)
        except Exception as exc:  # the next round retries; nothing was committed
            stop_if_cancelled(exc)  # shutdown, whatever the driver made of it
            log.warning("overdue sweep failed: %s", type(exc).__name__)
        await asyncio.sleep(interval)
