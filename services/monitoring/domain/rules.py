"""Rules are data (规则即数据): monitoring lines and procedure rules by year and region prefix."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass

import sqlalchemy as sa

from services.monitoring.db.tables import MonitoringLine, MonitoringRule
from shared.errors import Unprocessable
from shared.regions import longest_prefix_match
from shared.tx import Tx


@dataclass(frozen=True)
class RuleValues:
    """The procedure rule in force for a region; defaults follow national practice since 2021."""

    due_days: int = 15
    working_days: bool = False
    min_monitoring_months: int = 6
    county_approval_required: bool = False
    min_notice_days: int = 5


DEFAULT_RULE = RuleValues()


async def set_line(tx: Tx, *, year: int, region_code: str, amount_fen: int) -> MonitoringLine:
    """Create or replace the monitoring line of `region_code` (""=national) for `year`."""
    line = await tx.session.get(MonitoringLine, (year, region_code), with_for_update=True)
    before = None
    if line is None:
        line = MonitoringLine(year=year, region_code=region_code, amount_fen=amount_fen)
        tx.session.add(line)
    else:
        before = {"amount_fen": line.amount_fen, "version": line.version}
        line.amount_fen, line.version = amount_fen, line.version + 1
        line.updated_at = dt.datetime.now(dt.UTC)
    await tx.session.flush()
    tx.audit("line.set", "monitoring_line", f"{year}/{region_code}", region_code=region_code,
             before=before, after={"amount_fen": amount_fen, "version": line.version})
    return line


async def lines_of_year(tx: Tx, *, year: int, within: str) -> list[MonitoringLine]:
    """Lines of a year that apply inside `within`: its ancestors' and those below it."""
    query = sa.select(MonitoringLine).where(MonitoringLine.year == year).order_by(
        MonitoringLine.region_code)
    found = (await tx.session.execute(query)).scalars().all()
    return [line for line in found
            if within.startswith(line.region_code) or line.region_code.startswith(within)]


async def effective_line(tx: Tx, *, year: int, region_code: str) -> MonitoringLine | None:
    """The line of the longest prefix of `region_code` for `year`, if any is set."""
    lines = {line.region_code: line for line in await lines_of_year(tx, year=year,
                                                                     within=region_code)}
    best = longest_prefix_match(region_code, lines)
    return lines[best] if best is not None else None


async def require_line(tx: Tx, *, year: int, region_code: str) -> MonitoringLine:
    line = await effective_line(tx, year=year, region_code=region_code)
    if line is None:
        raise Unprocessable("no_monitoring_line",
                            f"{year} 年未设置适用于该区域的监测线 (no monitoring line for the year)",
                            field="year")
    return line


async def set_rule(tx: Tx, *, year: int, region_code: str, values: RuleValues) -> MonitoringRule:
    """Create or replace the procedure rule of `region_code` for `year` (omitted = default)."""
    rule = await tx.session.get(MonitoringRule, (year, region_code), with_for_update=True)
    before = None
    if rule is None:
        rule = MonitoringRule(year=year, region_code=region_code, **asdict(values))
        tx.session.add(rule)
    else:
        before = {**_values(rule).__dict__, "version": rule.version}
        for key, value in asdict(values).items():
            setattr(rule, key, value)
        rule.version += 1
        rule.updated_at = dt.datetime.now(dt.UTC)
    await tx.session.flush()
    tx.audit("rule.set", "monitoring_rule", f"{year}/{region_code}", region_code=region_code,
             before=before, after={**asdict(values), "version": rule.version})
    return rule


async def rules_of_year(tx: Tx, *, year: int, within: str = "") -> list[MonitoringRule]:
    query = sa.select(MonitoringRule).where(MonitoringRule.year == year).order_by(
        MonitoringRule.region_code)
    found = (await tx.session.execute(query)).scalars().all()
    return [r for r in found if within.startswith(r.region_code) or r.region_code.startswith(within)]


async def effective_rule(tx: Tx, *, year: int, region_code: str) -> tuple[str | None, RuleValues]:
    """(prefix of the winning rule or None, its values); the defaults when none is set."""
    rules = {r.region_code: r for r in await rules_of_year(tx, year=year, within=region_code)}
    best = longest_prefix_match(region_code, rules)
    return (best, _values(rules[best])) if best is not None else (None, DEFAULT_RULE)


async def rule_finder(tx: Tx, *, year: int) -> Callable[[str], RuleValues]:
    """`effective_rule(year, region)[1]` for many regions from one query: the year's rules
    are loaded once and the longest prefix chosen per region in memory."""
    rules = {r.region_code: _values(r) for r in await rules_of_year(tx, year=year)}

    def find(region_code: str) -> RuleValues:
        best = longest_prefix_match(region_code, rules)
        return rules[best] if best is not None else DEFAULT_RULE

    return find


async def line_finder(tx: Tx, *, year: int) -> Callable[[str], int | None]:
    """The amount of `effective_line(year, region)` for many regions from one query (None:
    no line applies)."""
    query = sa.select(MonitoringLine.region_code, MonitoringLine.amount_fen).where(
        MonitoringLine.year == year)
    lines = {code: amount for code, amount in (await tx.session.execute(query)).all()}

    def find(region_code: str) -> int | None:
        best = longest_prefix_match(region_code, lines)
        return lines[best] if best is not None else None

    return find


def _values(rule: MonitoringRule) -> RuleValues:
    return RuleValues(due_days=rule.due_days, working_days=rule.working_days,
                      min_monitoring_months=rule.min_monitoring_months,
                      county_approval_required=rule.county_approval_required,
                      min_notice_days=rule.min_notice_days)
