"""Projection of registry and monitoring events into `household_view` (replayable: its
handlers write nothing else, so `fupin replay tasks` rebuilds the table)."""

from __future__ import annotations

from services.tasks.domain import projection
from shared.consumer import Subscription
from shared.events.envelope import CloudEvent
from shared.events.monitoring import CaseEnrolled, RiskEliminated
from shared.events.registry import HouseholdExited, HouseholdRegistered, HouseholdRelapsed
from shared.events.topics import HOUSEHOLDS, MONITORING_CASES
from shared.service import Projection
from shared.tx import Tx

subscription = Subscription(group="tasks.households", topics=[HOUSEHOLDS, MONITORING_CASES])


@subscription.on(HouseholdRegistered.type)
async def on_registered(tx: Tx, event: CloudEvent, payload: HouseholdRegistered) -> None:
    await projection.set_status(tx, household_id=payload.household_id,
                                region_code=payload.region_code, status=payload.status)


@subscription.on(HouseholdExited.type)
async def on_exited(tx: Tx, event: CloudEvent, payload: HouseholdExited) -> None:
    await projection.set_status(tx, household_id=payload.household_id,
                                region_code=payload.region_code, status="exited")


@subscription.on(HouseholdRelapsed.type)
async def on_relapsed(tx: Tx, event: CloudEvent, payload: HouseholdRelapsed) -> None:
    await projection.set_status(tx, household_id=payload.household_id,
                                region_code=payload.region_code, status="relapsed")


@subscription.on(CaseEnrolled.type)
async def on_enrolled(tx: Tx, event: CloudEvent, payload: CaseEnrolled) -> None:
    await projection.set_monitored(tx, household_id=payload.household_id,
                                   region_code=payload.region_code, monitored=True)


@subscription.on(RiskEliminated.type)
async def on_eliminated(tx: Tx, event: CloudEvent, payload: RiskEliminated) -> None:
    await projection.set_monitored(tx, household_id=payload.household_id,
                                   region_code=payload.region_code, monitored=False)


households = Projection(subscription=subscription, tables=("household_view",))
