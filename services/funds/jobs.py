"""Background jobs of the funds service."""

from __future__ import annotations

import asyncio
import logging

from services.funds.domain.alerts import refresh_alerts
from services.funds.domain.common import today
from services.funds.settings import FundsSettings
from shared.aio import stop_if_cancelled
from shared.service import ServiceRuntime

log = logging.getLogger("fupin.funds.alerts")


async def run_alert_sweep(runtime: ServiceRuntime) -> int:
    """One pass: recompute alerts for the whole ledger; new ones are emitted once."""
    async with runtime.sessionmaker() as session:
        tx = runtime.new_tx(session, actor="system:funds.alerts")
        raised = await refresh_alerts(tx, as_of=today())
        await tx.flush()
        await session.commit()
    if raised:
        runtime.relay.wake()
    return len(raised)


async def alert_job(runtime: ServiceRuntime) -> None:
    """Sleep, sweep, repeat (interval FUPIN_FUNDS_ALERT_INTERVAL_SECONDS)."""
    interval = FundsSettings().alert_interval_seconds
    while True:
        await asyncio.sleep(interval)
        try:
            raised = await run_alert_sweep(runtime)
            if raised:
                log.info("funds alerts raised: %d", raised)
        except Exception as exc:  # keep sweeping; the next pass retries
            stop_if_cancelled(exc)  # shutdown, whatever the driver made of it
            log.exception("funds alert sweep failed")
