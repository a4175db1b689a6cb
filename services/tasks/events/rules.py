"""Automatic work from other services' events: the same domain functions the API calls."""

from __future__ import annotations

from services.tasks.domain import automation
from services.tasks.domain.calendar import today
from shared.consumer import Subscription
from shared.events.envelope import CloudEvent
from shared.events.funds import FundsAlertRaised
from shared.events.monitoring import CaseEnrolled
from shared.events.topics import FUNDS_LEDGER, MONITORING_CASES
from shared.tx import Tx

subscription = Subscription(group="tasks.rules", topics=[MONITORING_CASES, FUNDS_LEDGER])


@subscription.on(CaseEnrolled.type)
async def on_case_enrolled(tx: Tx, event: CloudEvent, payload: CaseEnrolled) -> None:
    await automation.task_for_enrolled_case(tx, payload)


@subscription.on(FundsAlertRaised.type)
async def on_funds_alert(tx: Tx, event: CloudEvent, payload: FundsAlertRaised) -> None:
    opened_on = payload.raised_on or today(event.time)
    await automation.rectification_for_alert(tx, payload, received_on=opened_on)
