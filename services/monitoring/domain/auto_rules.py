"""Rules applied to registry facts by the service itself (from the event payload alone, so
they need not wait for the projection): income below the line, a guarantee turned false, and
a relapse each raise an alert or add to the open one.

Each rule takes a run of facts of one kind and applies them set-based (a few queries for the
whole run, whatever its length) with the result of applying them one by one in order: the
consumer hands over runs in which a household appears once, and a household that appears
again is handled in a later round, after its earlier fact."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from services.monitoring.db.tables import GuaranteeWatch
from services.monitoring.domain import alerts, rules
from services.monitoring.domain.alerts import Lead
from services.monitoring.domain.enums import AlertSource, SignalKind
from shared.tx import Tx

_AUTO = AlertSource.automatic.value


@dataclass(frozen=True)
class Income:
    household_id: str
    region_code: str
    year: int
    per_capita_fen: int


@dataclass(frozen=True)
class Assessment:
    household_id: str
    region_code: str
    unmet: list[str]
    assessed_on: dt.date


async def income_recorded(tx: Tx, *, household_id: str, region_code: str, year: int,
                          per_capita_fen: int) -> bool:
    """True when the income is below the year's line (no line for the year: nothing to do)."""
    below = await incomes_recorded(tx, [Income(household_id, region_code, year, per_capita_fen)])
    return below == [True]


async def incomes_recorded(tx: Tx, incomes: list[Income]) -> list[bool]:
    """Per income, whether it is below its year's line (and so raised or added to an alert):
    one query per distinct year for the lines, then the alerts set-based."""
    finders = {year: await rules.line_finder(tx, year=year)
               for year in sorted({i.year for i in incomes})}
    below = []
    for i in incomes:
        line = finders[i.year](i.region_code)
        below.append(line is not None and i.per_capita_fen < line)
    await alerts.raise_or_append_many(tx, [
        Lead(i.household_id, i.region_code, SignalKind.income_below_line.value, _AUTO)
        for i, low in zip(incomes, below, strict=True) if low])
    return below


async def guarantees_assessed(tx: Tx, *, household_id: str, region_code: str,
                              unmet: list[str], assessed_on: dt.date) -> bool:
    """True when a guarantee that held (or was never assessed) is now unmet."""
    turned = await assessments(tx, [Assessment(household_id, region_code, list(unmet),
                                               assessed_on)])
    return turned == [True]


async def assessments(tx: Tx, items: list[Assessment]) -> list[bool]:
    """Per assessment, whether a guarantee that held (or was never assessed) is now unmet;
    the watch rows of all the households are read (and locked) in one query per round."""
    turned: list[bool] = [False] * len(items)
    for chunk in _rounds(list(enumerate(items))):
        leads = []
        ids = [item.household_id for _, item in chunk]
        query = (sa.select(GuaranteeWatch).where(GuaranteeWatch.household_id.in_(sorted(ids)))
                 .with_for_update())
        watches = {w.household_id: w for w in (await tx.session.execute(query)).scalars()}
        for index, item in chunk:
            watch = watches.get(item.household_id)
            previous = set(watch.unmet) if watch is not None else set()
            if watch is None:
                tx.session.add(GuaranteeWatch(household_id=item.household_id,
                                              unmet=list(item.unmet),
                                              assessed_on=item.assessed_on))
            elif item.assessed_on >= watch.assessed_on:
                watch.unmet, watch.assessed_on = list(item.unmet), item.assessed_on
            else:
                continue  # an older assessment arriving late says nothing about now
            if set(item.unmet) - previous:
                turned[index] = True
                leads.append(Lead(item.household_id, item.region_code,
                                  SignalKind.guarantee_unmet.value, _AUTO))
        await tx.session.flush()  # the next round (same household again) reads these rows
        await alerts.raise_or_append_many(tx, leads)
    return turned


async def relapsed(tx: Tx, *, household_id: str, region_code: str) -> None:
    await relapses(tx, [(household_id, region_code)])


async def relapses(tx: Tx, households: list[tuple[str, str]]) -> None:
    """(household_id, region_code) of each relapse, in order."""
    await alerts.raise_or_append_many(tx, [
        Lead(household_id, region_code, SignalKind.relapse.value, _AUTO)
        for household_id, region_code in households])


def _rounds(items: list[tuple[int, Assessment]]) -> list[list[tuple[int, Assessment]]]:
    """Round k holds every household's k-th item, so a household's items keep their order."""
    depth: dict[str, int] = {}
    rounds: list[list[tuple[int, Assessment]]] = []
    for item in items:
        level = depth.get(item[1].household_id, 0)
        depth[item[1].household_id] = level + 1
        if level == len(rounds):
            rounds.append([])
        rounds[level].append(item)
    return rounds
