"""Time limits as data: per year and region prefix, the longest prefix wins.

Defaults when nothing is stored: a task for an enrolled monitoring case is due 15 days after
the enrolment decision (CONTRACT.md § Tasks); a rectification opened from a funds alert is due
30 days after the alert is handled."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from services.tasks.db.tables import TaskRule
from shared.db import upsert
from shared.regions import ancestors, longest_prefix_match
from shared.tx import Tx

DEFAULT_CASE_TASK_DUE_DAYS = 15
DEFAULT_RECTIFICATION_DUE_DAYS = 30


@dataclass(frozen=True)
class Limits:
    case_task_due_days: int = DEFAULT_CASE_TASK_DUE_DAYS
    rectification_due_days: int = DEFAULT_RECTIFICATION_DUE_DAYS
    region_prefix: str | None = None


async def set_rule(tx: Tx, *, year: int, region_prefix: str, case_task_due_days: int,
                   rectification_due_days: int) -> TaskRule:
    values = {"year": year, "region_prefix": region_prefix,
              "case_task_due_days": case_task_due_days,
              "rectification_due_days": rectification_due_days,
              "updated_at": dt.datetime.now(dt.UTC)}
    await tx.session.execute(upsert(
        tx.dialect, TaskRule.__table__, values, keys=["year", "region_prefix"],
        update=["case_task_due_days", "rectification_due_days", "updated_at"]))
    tx.audit("rule.set", "task_rule", f"{year}:{region_prefix}", region_code=region_prefix,
             after={k: v for k, v in values.items() if k != "updated_at"})
    return TaskRule(**values)


async def limits_for(tx: Tx, *, year: int, region_code: str) -> Limits:
    """The limits that apply to a region in a year (defaults when none is stored)."""
    found = (await tx.session.execute(sa.select(TaskRule).where(
        TaskRule.year == year, TaskRule.region_prefix.in_(ancestors(region_code))))).scalars()
    by_prefix = {r.region_prefix: r for r in found}
    best = longest_prefix_match(region_code, by_prefix)
    if best is None:
        return Limits()
    rule = by_prefix[best]
    return Limits(rule.case_task_due_days, rule.rectification_due_days, best)
