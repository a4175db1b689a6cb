"""Rules applied to registry facts by the service itself (from the event payload alone, so
they need not wait for the projection): income below the line, a guarantee turned false, and
a relapse each raise an alert or add to the open one."""

from __future__ import annotations

import datetime as dt

from services.monitoring.db.tables import GuaranteeWatch
from services.monitoring.domain import alerts, rules
from services.monitoring.domain.enums import AlertSource, SignalKind
from shared.tx import Tx

_AUTO = AlertSource.automatic.value


async def income_recorded(tx: Tx, *, household_id: str, region_code: str, year: int,
                          per_capita_fen: int) -> bool:
    """True when the income is below the year's line (no line for the year: nothing to do)."""
    line = await rules.effective_line(tx, year=year, region_code=region_code)
    if line is None or per_capita_fen >= line.amount_fen:
        return False
    await alerts.raise_or_append(tx, household_id=household_id, region_code=region_code,
                                 kind=SignalKind.income_below_line.value, source=_AUTO)
    return True


async def guarantees_assessed(tx: Tx, *, household_id: str, region_code: str,
                              unmet: list[str], assessed_on: dt.date) -> bool:
    """True when a guarantee that held (or was never assessed) is now unmet."""
    watch = await tx.session.get(GuaranteeWatch, household_id, with_for_update=True)
    previous = set(watch.unmet) if watch is not None else set()
    if watch is None:
        tx.session.add(GuaranteeWatch(household_id=household_id, unmet=list(unmet),
                                      assessed_on=assessed_on))
    elif assessed_on >= watch.assessed_on:
        watch.unmet, watch.assessed_on = list(unmet), assessed_on
    else:
        return False  # an older assessment arriving late says nothing about now
    if not set(unmet) - previous:
        return False
    await alerts.raise_or_append(tx, household_id=household_id, region_code=region_code,
                                 kind=SignalKind.guarantee_unmet.value, source=_AUTO)
    return True


async def relapsed(tx: Tx, *, household_id: str, region_code: str) -> None:
    await alerts.raise_or_append(tx, household_id=household_id, region_code=region_code,
                                 kind=SignalKind.relapse.value, source=_AUTO)
