"""Monitoring's reactions to registry events: keep the household projection current."""

from __future__ import annotations

from services.monitoring.domain import projection
from shared.consumer import Subscription
from shared.events.envelope import CloudEvent
from shared.events.registry import HouseholdRegistered
from shared.events.topics import HOUSEHOLDS
from shared.tx import Tx

subscription = Subscription(group="monitoring.registry", topics=[HOUSEHOLDS])


@subscription.on(HouseholdRegistered.type)
async def on_registered(tx: Tx, event: CloudEvent, payload: HouseholdRegistered) -> None:
    await projection.household_registered(tx, payload)
