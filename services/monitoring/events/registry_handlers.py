"""Monitoring's reactions to registry events, in two consumer groups:

- `monitoring.registry` (a Projection): keeps household_view, member_view and income_view;
  it writes nothing else, so `fupin replay monitoring` can rebuild them;
- `monitoring.rules`: the automatic alert rules, from the event payload alone (the other
  group may not have applied the same event yet)."""

from __future__ import annotations

from services.monitoring.db.tables import PROJECTION_TABLES
from services.monitoring.domain import auto_rules, projection
from shared.consumer import Subscription
from shared.events.envelope import CloudEvent
from shared.events.registry import (
    GuaranteesAssessed,
    HouseholdExited,
    HouseholdRegistered,
    HouseholdRelapsed,
    HouseholdUpdated,
    IncomeRecorded,
    MemberAdded,
    MemberRemoved,
)
from shared.events.topics import HOUSEHOLDS
from shared.service import Projection
from shared.tx import Tx

subscription = Subscription(group="monitoring.registry", topics=[HOUSEHOLDS])
rules_subscription = Subscription(group="monitoring.rules", topics=[HOUSEHOLDS])
household_projection = Projection(subscription=subscription, tables=PROJECTION_TABLES)

_PROJECTORS = {
    HouseholdRegistered: projection.household_registered,
    HouseholdUpdated: projection.household_updated,
    MemberAdded: projection.member_added,
    MemberRemoved: projection.member_removed,
    IncomeRecorded: projection.income_recorded,
    GuaranteesAssessed: projection.guarantees_assessed,
    HouseholdExited: projection.household_exited,
    HouseholdRelapsed: projection.household_relapsed,
}


def _project(apply):
    async def handle(tx: Tx, event: CloudEvent, payload) -> None:
        await apply(tx, payload)

    return handle


for _model, _apply in _PROJECTORS.items():
    subscription.on(_model.type)(_project(_apply))


# Bursts (imports, replays) arrive as runs of one type: apply those set-based.
@subscription.on_many(HouseholdRegistered.type)
async def on_registered_run(tx: Tx, run: list) -> None:
    await projection.households_registered(tx, [payload for _, payload in run])


@subscription.on_many(IncomeRecorded.type)
async def on_incomes_run(tx: Tx, run: list) -> None:
    await projection.incomes_recorded(tx, [payload for _, payload in run])


# The rules apply a run of one type set-based (a run of one for retries and redrive).
@rules_subscription.on_many(IncomeRecorded.type)
async def on_incomes(tx: Tx, run: list) -> None:
    await auto_rules.incomes_recorded(tx, [
        auto_rules.Income(p.household_id, p.region_code, p.year, p.per_capita_net_income_fen)
        for _, p in run])


@rules_subscription.on_many(GuaranteesAssessed.type)
async def on_guarantees(tx: Tx, run: list) -> None:
    await auto_rules.assessments(tx, [
        auto_rules.Assessment(p.household_id, p.region_code, list(p.unmet), p.assessed_on)
        for _, p in run])


@rules_subscription.on_many(HouseholdRelapsed.type)
async def on_relapsed(tx: Tx, run: list) -> None:
    await auto_rules.relapses(tx, [(p.household_id, p.region_code) for _, p in run])
