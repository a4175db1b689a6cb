"""Funds' projection of registry households: handlers write only `household_view`, so
`fupin replay funds` rebuilds it from the registry topic."""

from __future__ import annotations

from services.funds.domain import projection
from shared.consumer import Subscription
from shared.events.envelope import CloudEvent
from shared.events.registry import HouseholdRegistered, HouseholdUpdated, MemberAdded, MemberRemoved
from shared.events.topics import HOUSEHOLDS
from shared.service import Projection
from shared.tx import Tx

subscription = Subscription(group="funds.registry", topics=[HOUSEHOLDS])
households = Projection(subscription=subscription, tables=["household_view"])


@subscription.on(HouseholdRegistered.type)
async def on_registered(tx: Tx, event: CloudEvent, payload: HouseholdRegistered) -> None:
    await projection.household_registered(tx, payload)


@subscription.on(MemberAdded.type)
async def on_member_added(tx: Tx, event: CloudEvent, payload: MemberAdded) -> None:
    await projection.member_changed(tx, payload)


@subscription.on(MemberRemoved.type)
async def on_member_removed(tx: Tx, event: CloudEvent, payload: MemberRemoved) -> None:
    await projection.member_changed(tx, payload)


@subscription.on(HouseholdUpdated.type)
async def on_updated(tx: Tx, event: CloudEvent, payload: HouseholdUpdated) -> None:
    await projection.household_updated(tx, payload)
