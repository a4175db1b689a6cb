"""The conditions of risk elimination (风险消除), each reported when unmet."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from services.monitoring.db.tables import Case, HouseholdView, IncomeView, Measure, MemberView
from services.monitoring.domain import calendar, rules
from services.monitoring.domain.enums import DecisionStep, MeasureKind
from shared.errors import ErrorItem
from shared.money import format_yuan
from shared.tx import Tx

ABLE = ("normal", "skilled", "weak")


async def unmet_conditions(tx: Tx, *, case: Case, decided_on: dt.date, year: int,
                           measures: list[Measure], steps: list[str]) -> list[ErrorItem]:
    """Every condition the case does not meet yet; empty when the risk may be eliminated."""
    unmet = await _income(tx, case, year)
    unmet += await _guarantees(tx, case)
    _, rule = await rules.effective_rule(tx, year=decided_on.year, region_code=case.region_code)
    unmet += _period(case, decided_on, rule)
    if not measures:
        unmet.append(ErrorItem("no_measure", "尚未落实任何帮扶措施 (no assistance measure)",
                               "measures"))
    if await _without_labor(tx, case, measures):
        unmet.append(ErrorItem(
            "no_labor_capacity",
            "家庭无劳动能力且仅有兜底保障措施，应继续监测 "
            "(no member can work and only social-security measures cover the risk)",
            "measures"))
    if rule.county_approval_required and DecisionStep.county_approval.value not in steps:
        unmet.append(ErrorItem("county_approval_required",
                               "本地规则要求风险消除经县级审定 (the region's rule requires the "
                               "county approval step first)", "steps"))
    return unmet


async def _income(tx: Tx, case: Case, year: int) -> list[ErrorItem]:
    line = await rules.effective_line(tx, year=year, region_code=case.region_code)
    income = await tx.session.get(IncomeView, (case.household_id, year))
    if line is None:
        detail = f"{year} 年未设置监测线，无法认定收入稳定 (no monitoring line for {year})"
    elif income is None:
        detail = f"{year} 年尚无收入记录 (no income recorded for {year})"
    elif income.per_capita_net_income_fen <= line.amount_fen:
        detail = (f"{year} 年人均纯收入 {format_yuan(income.per_capita_net_income_fen)} 元"
                  f"未高于监测线 {format_yuan(line.amount_fen)} 元 "
                  f"(per-capita net income not above the monitoring line)")
    else:
        return []
    return [ErrorItem("income_below_line", detail, "income")]


async def _guarantees(tx: Tx, case: Case) -> list[ErrorItem]:
    view = await tx.session.get(HouseholdView, case.household_id)
    unmet = (view.unmet_guarantees or []) if view is not None else []
    return [ErrorItem("guarantee_unmet", f"{field} 未保障 (guarantee not met)", field)
            for field in unmet]


def _period(case: Case, decided_on: dt.date, rule: rules.RuleValues) -> list[ErrorItem]:
    earliest = calendar.add_months(case.enrolled_on, rule.min_monitoring_months)
    if decided_on >= earliest:
        return []
    return [ErrorItem("monitoring_period_too_short",
                      f"纳入监测不足 {rule.min_monitoring_months} 个月，最早 {earliest} 可消除 "
                      f"(monitored for less than the rule's minimum period)", "decided_on")]


async def _without_labor(tx: Tx, case: Case, measures: list[Measure]) -> bool:
    """No member able to work and nothing but social-security measures: stays monitored."""
    if any(m.kind != MeasureKind.social_security.value for m in measures):
        return False
    able = (await tx.session.execute(
        sa.select(MemberView.member_id).where(MemberView.household_id == case.household_id,
                                              MemberView.active.is_(True),
                                              MemberView.labor_ability.in_(ABLE)).limit(1)
    )).first()
    return able is None
