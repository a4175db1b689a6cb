"""Yearly income (年度收入) and the 两不愁三保障 + safe drinking water assessments."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from services.registry.db.tables import GuaranteeAssessment, Household, Income
from services.registry.domain.households import current_member_count
from shared.errors import Unprocessable
from shared.events.registry import GuaranteesAssessed, IncomeRecorded
from shared.ids import new_id
from shared.tx import Tx

INCOME_PARTS = ("wage", "business", "property", "transfer", "business_cost")
GUARANTEES = ("food", "clothing", "compulsory_education", "basic_medical", "housing_safety",
              "drinking_water")


def per_capita(net_fen: int, members: int) -> int:
    """net ÷ members, rounded half-up (away from zero) to the fen, in integers only."""
    sign = -1 if net_fen < 0 else 1
    return sign * ((2 * abs(net_fen) + members) // (2 * members))


async def record_income(tx: Tx, household: Household, *, year: int,
                        parts_fen: dict[str, int]) -> tuple[Income, bool]:
    """Create or replace a year's income; returns the row and whether it is new."""
    members = await current_member_count(tx, household.id)
    if members == 0:
        raise Unprocessable("no_members", "该户没有现有成员 (household has no current member)")
    net = (parts_fen["wage"] + parts_fen["business"] + parts_fen["property"]
           + parts_fen["transfer"] - parts_fen["business_cost"])
    values = {f"{k}_fen": parts_fen[k] for k in INCOME_PARTS}
    values |= {"net_income_fen": net, "member_count": members,
               "per_capita_net_income_fen": per_capita(net, members),
               "recorded_at": dt.datetime.now(dt.UTC)}
    row = await tx.session.get(Income, (household.id, year), with_for_update=True)
    before = row and _income_snapshot(row)
    if row is None:
        row = Income(household_id=household.id, year=year, **values)
    else:
        for name, value in values.items():
            setattr(row, name, value)
        row.version += 1
    tx.session.add(row)
    tx.emit(IncomeRecorded(household_id=household.id, region_code=household.region_code,
                           year=year, net_income_fen=net,
                           per_capita_net_income_fen=row.per_capita_net_income_fen,
                           member_count=members),
            subject=household.id, region_code=household.region_code)
    tx.audit("household.income_record", "income", f"{household.id}:{year}",
             region_code=household.region_code, before=before, after=_income_snapshot(row))
    return row, before is None


async def incomes(tx: Tx, household_id: str) -> list[Income]:
    return list((await tx.session.execute(
        sa.select(Income).where(Income.household_id == household_id).order_by(Income.year)
    )).scalars().all())


async def income_of(tx: Tx, household_id: str, year: int) -> Income | None:
    return await tx.session.get(Income, (household_id, year))


def unmet(assessment: GuaranteeAssessment) -> list[str]:
    return [g for g in GUARANTEES if not getattr(assessment, g)]


async def assess_guarantees(tx: Tx, household: Household, *, assessed_on: dt.date,
                            values: dict[str, bool]) -> GuaranteeAssessment:
    """Record an assessment; earlier ones stay as history, the latest one counts."""
    if assessed_on > dt.date.today():
        raise Unprocessable("date_in_future", "评估日期不能晚于今天 (assessed_on is in the future)",
                            field="assessed_on")
    row = GuaranteeAssessment(id=new_id(), household_id=household.id, assessed_on=assessed_on,
                              recorded_by=tx.actor, **{g: values[g] for g in GUARANTEES})
    tx.session.add(row)
    tx.emit(GuaranteesAssessed(household_id=household.id, region_code=household.region_code,
                               assessed_on=assessed_on, unmet=unmet(row),
                               **{g: values[g] for g in GUARANTEES}),
            subject=household.id, region_code=household.region_code)
    tx.audit("household.guarantees_assess", "guarantee_assessment", row.id,
             region_code=household.region_code, after=_assessment_snapshot(row))
    return row


async def latest_assessment(tx: Tx, household_id: str) -> GuaranteeAssessment | None:
    return (await tx.session.execute(
        sa.select(GuaranteeAssessment).where(GuaranteeAssessment.household_id == household_id)
        .order_by(GuaranteeAssessment.assessed_on.desc(), GuaranteeAssessment.id.desc()).limit(1)
    )).scalars().first()


async def assessments(tx: Tx, household_id: str) -> list[GuaranteeAssessment]:
    """Every assessment, newest first."""
    return list((await tx.session.execute(
        sa.select(GuaranteeAssessment).where(GuaranteeAssessment.household_id == household_id)
        .order_by(GuaranteeAssessment.assessed_on.desc(), GuaranteeAssessment.id.desc())
    )).scalars().all())


def _income_snapshot(row: Income) -> dict:
    return row.model_dump(mode="json", exclude={"recorded_at"})


def _assessment_snapshot(row: GuaranteeAssessment) -> dict:
    return row.model_dump(mode="json", exclude={"recorded_at"})
