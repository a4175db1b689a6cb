"""Status changes of a household: exit (脱贫) against the standard, relapse (返贫), history."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from services.registry.db.tables import Household, StatusChange
from services.registry.domain import counters, records, rules
from services.registry.domain.enums import HouseholdStatus
from services.registry.domain.households import touch
from shared.errors import ErrorItem, RuleViolations, Unprocessable
from shared.events.registry import HouseholdExited, HouseholdRelapsed
from shared.ids import new_id
from shared.money import format_yuan
from shared.tx import Tx

_GUARANTEE_LABELS = {
    "food": "不愁吃", "clothing": "不愁穿", "compulsory_education": "义务教育有保障",
    "basic_medical": "基本医疗有保障", "housing_safety": "住房安全有保障",
    "drinking_water": "饮水安全有保障",
}


async def exit_household(tx: Tx, household: Household, *, year: int) -> Household:
    """脱贫: per-capita net income of `year` above that year's line and all six guarantees."""
    if household.status == HouseholdStatus.exited.value:
        raise Unprocessable("already_exited", "该户已脱贫 (household already exited)",
                            field="status")
    problems, per_capita_fen, line = await unmet_exit_conditions(tx, household, year=year)
    if problems:
        raise RuleViolations("未达到脱贫标准 (the exit standard is not met)", problems)
    previous = household.status
    _change_status(tx, household, to=HouseholdStatus.exited.value, year=year)
    await counters.refresh(tx, [household.region_code])  # statistics counters, same transaction
    tx.emit(HouseholdExited(household_id=household.id, region_code=household.region_code,
                            year=year, per_capita_net_income_fen=per_capita_fen,
                            poverty_line_fen=line),
            subject=household.id, region_code=household.region_code)
    tx.audit("household.exit", "household", household.id, region_code=household.region_code,
             before={"status": previous}, after={"status": household.status, "year": year})
    return household


async def unmet_exit_conditions(tx: Tx, household: Household, *,
                                year: int) -> tuple[list[ErrorItem], int | None, int | None]:
    """Every unmet condition of the exit standard, plus the income and line compared."""
    problems: list[ErrorItem] = []
    income = await records.income_of(tx, household.id, year)
    line = await rules.poverty_line(tx, year=year, region_code=household.region_code)
    if income is None:
        problems.append(ErrorItem("no_income_record", f"没有 {year} 年收入记录 (no income record)",
                                  "year"))
    if line is None:
        problems.append(ErrorItem("no_poverty_line",
                                  f"未设置 {year} 年扶贫标准 (no poverty line configured)", "year"))
    if income is not None and line is not None \
            and income.per_capita_net_income_fen <= line.value:
        problems.append(ErrorItem(
            "income_below_line",
            f"人均纯收入 {format_yuan(income.per_capita_net_income_fen)} 元未超过扶贫标准 "
            f"{format_yuan(line.value)} 元 (per-capita net income does not exceed the line)",
            "per_capita_net_income"))
    assessment = await records.latest_assessment(tx, household.id)
    failing = list(records.GUARANTEES) if assessment is None else records.unmet(assessment)
    why = "尚未评估 (not assessed)" if assessment is None else "未达标 (not met)"
    problems += [ErrorItem("guarantee_unmet", f"{_GUARANTEE_LABELS[g]}：{why}", g)
                 for g in failing]
    return (problems, income and income.per_capita_net_income_fen, line and line.value)


async def relapse_household(tx: Tx, household: Household, *, reason: str,
                            occurred_on: dt.date) -> Household:
    """返贫 of an exited household; `reason` is a cause code."""
    if household.status != HouseholdStatus.exited.value:
        raise Unprocessable("not_exited", "只有已脱贫户才能标记返贫 (household has not exited)",
                            field="status")
    if occurred_on > dt.date.today():
        raise Unprocessable("date_in_future", "返贫日期不能晚于今天 (occurred_on is in the future)",
                            field="occurred_on")
    _change_status(tx, household, to=HouseholdStatus.relapsed.value, reason=reason,
                   occurred_on=occurred_on)
    await counters.refresh(tx, [household.region_code])  # statistics counters, same transaction
    tx.emit(HouseholdRelapsed(household_id=household.id, region_code=household.region_code,
                              reason=reason, occurred_on=occurred_on),
            subject=household.id, region_code=household.region_code)
    tx.audit("household.relapse", "household", household.id, region_code=household.region_code,
             before={"status": HouseholdStatus.exited.value},
             after={"status": household.status, "reason": reason,
                    "occurred_on": occurred_on.isoformat()})
    return household


def _change_status(tx: Tx, household: Household, *, to: str, year: int | None = None,
                   reason: str | None = None, occurred_on: dt.date | None = None) -> None:
    tx.session.add(StatusChange(id=new_id(), household_id=household.id,
                                from_status=household.status, to_status=to, year=year,
                                reason=reason, occurred_on=occurred_on, actor=tx.actor))
    household.status = to
    touch(household)
    tx.session.add(household)


async def history(tx: Tx, household_id: str) -> list[StatusChange]:
    """Status changes, oldest first."""
    return list((await tx.session.execute(
        sa.select(StatusChange).where(StatusChange.household_id == household_id)
        .order_by(StatusChange.id))).scalars().all())
