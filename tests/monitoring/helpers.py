"""Registry events published straight onto the bus (the real consumer reads them), and
small readers for assertions."""

from __future__ import annotations

import datetime as dt
import itertools

from shared.bus.base import Outgoing
from shared.events.envelope import CloudEvent, EventData
from shared.events.registry import (
    GuaranteesAssessed,
    HouseholdRegistered,
    HouseholdRelapsed,
    IncomeRecorded,
    MemberFacts,
)
from shared.events.topics import HOUSEHOLDS
from shared.ids import new_id
from tests.support.db import count, rows
from tests.support.factories import VILLAGE, id_number
from tests.support.platform import eventually

API = "/api/v1/monitoring"
GUARANTEES = ("food", "clothing", "compulsory_education", "basic_medical", "housing_safety",
              "drinking_water")
_seq = itertools.count(1)


def event_of(payload: EventData) -> CloudEvent:
    return CloudEvent.of(payload, service="registry", subject=payload.household_id,
                         region_code=payload.region_code)


async def publish(platform, *items: EventData | CloudEvent) -> list[CloudEvent]:
    """Publish payloads (or ready events, e.g. to send one twice) on the households topic."""
    events = [i if isinstance(i, CloudEvent) else event_of(i) for i in items]
    bus = getattr(platform, "monitoring_test_bus", None)
    if bus is None:  # one publishing connection per test, like another process's producer
        bus = platform.monitoring_test_bus = await platform.new_bus()
    await bus.publish([Outgoing(HOUSEHOLDS, e.subject, e.to_bytes()) for e in events])
    return events


def registered(*, village: str = VILLAGE, labor: tuple[str, ...] = ("normal", "none"),
               id_hashes: list[str] | None = None, status: str = "exited") -> HouseholdRegistered:
    hid = new_id()
    hashes = id_hashes or [f"hash-{hid}-{i}" for i in range(len(labor))]
    members = [MemberFacts(member_id=new_id(), relation="head" if i == 0 else "child",
                           labor_ability=ability, health="healthy", schooling="none",
                           sex="male", birth_year=1980, id_hash=hashes[i])
               for i, ability in enumerate(labor)]
    return HouseholdRegistered(household_id=hid, household_no=f"{village}{next(_seq):05d}",
                               region_code=village, status=status, attribute="general",
                               identified_year=2016, primary_cause="illness",
                               secondary_causes=[], members=members)


def income(household: HouseholdRegistered, yuan: int, *, year: int = 2024) -> IncomeRecorded:
    members = len(household.members)
    return IncomeRecorded(household_id=household.household_id,
                          region_code=household.region_code, year=year,
                          net_income_fen=yuan * 100 * members,
                          per_capita_net_income_fen=yuan * 100, member_count=members)


def guarantees(household: HouseholdRegistered, *unmet: str,
               on: dt.date = dt.date(2024, 3, 1)) -> GuaranteesAssessed:
    flags = {g: g not in unmet for g in GUARANTEES}
    return GuaranteesAssessed(household_id=household.household_id,
                              region_code=household.region_code, assessed_on=on,
                              unmet=list(unmet), **flags)


def relapse(household: HouseholdRegistered) -> HouseholdRelapsed:
    return HouseholdRelapsed(household_id=household.household_id,
                             region_code=household.region_code, reason="illness",
                             occurred_on=dt.date(2024, 5, 1))


async def project(platform, *households: HouseholdRegistered) -> None:
    """Publish registrations and wait until the projection holds them."""
    await publish(platform, *households)
    rt = platform.runtime("monitoring")
    ids = [h.household_id for h in households]

    async def all_there() -> bool:
        found = await rows(rt, "SELECT household_id FROM household_view")
        return set(ids) <= {r.household_id for r in found}

    await eventually(all_there)


async def handled(platform, group: str, n: int) -> None:
    """Wait until the consumer group has handled (inbox) at least n events."""
    rt = platform.runtime("monitoring")
    await eventually(lambda: _at_least(rt, f"WHERE consumer_group LIKE '%{group}'", n))


async def _at_least(rt, where: str, n: int) -> bool:
    return await count(rt, "inbox", where) >= n


async def set_line(client, headers, yuan: str, *, year: int = 2024, region: str = "") -> None:
    r = await client.put(f"{API}/lines/{year}", json={"region_code": region, "amount": yuan},
                         headers=headers)
    assert r.status_code == 200, r.text


def new_id_number(region: str = "430902") -> str:
    return id_number(region)


async def monitoring_counts(platform) -> dict[str, int]:
    rt = platform.runtime("monitoring")
    return {t: await count(rt, t) for t in ("signals", "alerts", "alert_steps", "cases",
                                             "measures", "outbox")}
