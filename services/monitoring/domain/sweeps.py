"""Sweeps (集中排查): every household of a region against the year's monitoring line, in SQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.monitoring.db import sweeps as sql
from services.monitoring.domain import calendar, rules
from services.monitoring.domain.enums import AlertSource, SignalKind
from shared.errors import Unprocessable
from shared.events.monitoring import AlertRaised
from shared.ids import new_id
from shared.tx import Tx


@dataclass(frozen=True)
class SweepResult:
    evaluated: int
    alerts_raised: int


async def sweep(tx: Tx, *, year: int, region: str) -> SweepResult:
    """Raise an alert for each household below its line with none open (idempotent)."""
    lines = await rules.lines_of_year(tx, year=year, within=region)
    if not lines:
        raise Unprocessable("no_monitoring_line",
                            f"{year} 年未设置适用于该区域的监测线 (no monitoring line for the year)",
                            field="year")
    raised_on = calendar.today()
    due = await _due_dates(tx, region=region, raised_on=raised_on)
    stmt = sql.insert_below_line(
        tx.dialect, year=year, region=region, id_base=new_id(),
        lines=[(line.region_code, line.amount_fen) for line in lines], due=due,
        raised_on=raised_on, now=dt.datetime.now(dt.UTC),
        kinds=[SignalKind.income_below_line.value], sources=[AlertSource.automatic.value])
    raised = (await tx.session.execute(stmt)).all()
    evaluated = int((await tx.session.execute(sql.count_households(region))).scalar_one())
    for row in raised:
        tx.emit(AlertRaised(alert_id=row.id, household_id=row.household_id,
                            region_code=row.region_code, kinds=[SignalKind.income_below_line.value],
                            sources=[AlertSource.automatic.value], due_on=row.due_on,
                            raised_on=raised_on),
                subject=row.household_id, region_code=row.region_code)
    tx.audit("sweep.run", "sweep", f"{year}/{region}", region_code=region,
             after={"year": year, "evaluated": evaluated, "alerts_raised": len(raised)})
    return SweepResult(evaluated=evaluated, alerts_raised=len(raised))


async def _due_dates(tx: Tx, *, region: str, raised_on: dt.date) -> list[tuple[str, dt.date]]:
    """The due date each rule prefix gives, plus the default (or inherited) one for the rest."""
    found = await rules.rules_of_year(tx, year=raised_on.year, within=region)
    _, inherited = await rules.effective_rule(tx, year=raised_on.year, region_code=region)
    due = [("", calendar.add_days(raised_on, inherited.due_days, working=inherited.working_days))]
    for rule in found:
        if rule.region_code.startswith(region) and rule.region_code != region:
            due.append((rule.region_code, calendar.add_days(raised_on, rule.due_days,
                                                            working=rule.working_days)))
    return due
