"""Cases (监测对象): enrolment from an alert, measures, and risk elimination (风险消除)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from services.monitoring.db.tables import Alert, AlertStep, Case, CaseRiskType, CaseStep, Measure
from services.monitoring.domain import alerts, rules
from services.monitoring.domain.elimination import unmet_conditions
from services.monitoring.domain.enums import AlertStatus, CaseStatus, DecisionStep
from shared.errors import Conflict, NotFound, RuleViolations, Unprocessable
from shared.events.monitoring import CaseEnrolled, CaseStepRecorded, MeasureAdded, RiskEliminated
from shared.ids import new_id
from shared.tx import Tx


async def enroll(tx: Tx, *, alert: Alert, category: str, risk_types: list[str],
                 decided_on: dt.date) -> Case:
    """纳入监测: the open alert becomes a case (county approval first where the rule says)."""
    alerts.ensure_open(alert)
    await _ensure_approved(tx, alert, decided_on)
    case = Case(id=new_id(), alert_id=alert.id, household_id=alert.household_id,
                region_code=alert.region_code, category=category, risk_types=list(risk_types),
                enrolled_on=decided_on, status=CaseStatus.active.value)
    try:
        async with tx.session.begin_nested():
            tx.session.add(case)
    except IntegrityError:
        raise Conflict("case_already_active",
                       "该户已是监测对象，请在现有监测中追加措施 (household already monitored)",
                       field="household_id") from None
    tx.session.add_all([CaseRiskType(case_id=case.id, risk_type=r) for r in set(risk_types)])
    before = alerts.snapshot(alert)
    alert.status, alert.decided_on, alert.case_id = AlertStatus.enrolled.value, decided_on, case.id
    alert.version += 1
    alert.updated_at = dt.datetime.now(dt.UTC)
    tx.emit(CaseEnrolled(case_id=case.id, alert_id=alert.id, household_id=case.household_id,
                         region_code=case.region_code, category=category,
                         risk_types=list(risk_types), decided_on=decided_on),
            subject=case.household_id, region_code=case.region_code)
    tx.audit("alert.enroll", "alert", alert.id, region_code=alert.region_code, before=before,
             after=alerts.snapshot(alert))
    tx.audit("case.enroll", "case", case.id, region_code=case.region_code, after=snapshot(case))
    return case


async def _ensure_approved(tx: Tx, alert: Alert, decided_on: dt.date) -> None:
    _, rule = await rules.effective_rule(tx, year=decided_on.year, region_code=alert.region_code)
    if not rule.county_approval_required:
        return
    approved = (await tx.session.execute(
        sa.select(AlertStep.id).where(AlertStep.alert_id == alert.id,
                                      AlertStep.step == DecisionStep.county_approval.value)
        .limit(1))).first()
    if approved is None:
        raise Unprocessable("county_approval_required",
                            "本地规则要求先经县级审定再纳入监测 "
                            "(the region's rule requires the county approval step first)",
                            field="steps")


async def get_case(tx: Tx, case_id: str, *, lock: bool = False) -> Case:
    case = await tx.session.get(Case, case_id, with_for_update=lock, populate_existing=lock)
    if case is None:
        raise NotFound("监测对象")
    return case


async def list_cases(tx: Tx, *, within: str, status: str | None, category: str | None,
                     limit: int, after: str | None) -> list[Case]:
    query = sa.select(Case).where(Case.region_code.startswith(within))
    if status:
        query = query.where(Case.status == status)
    if category:
        query = query.where(Case.category == category)
    if after:
        query = query.where(Case.id > after)
    return list((await tx.session.execute(query.order_by(Case.id).limit(limit + 1)))
                .scalars().all())


def _ensure_active(case: Case) -> None:
    if case.status != CaseStatus.active.value:
        raise Conflict("case_closed", "风险已消除，监测已结束 (case is no longer active)",
                       field="status")


async def add_measure(tx: Tx, *, case: Case, kind: str, description: str,
                      started_on: dt.date) -> Measure:
    _ensure_active(case)
    measure = Measure(id=new_id(), case_id=case.id, kind=kind, description=description,
                      started_on=started_on, recorded_by=tx.actor)
    tx.session.add(measure)
    case.version += 1
    case.updated_at = dt.datetime.now(dt.UTC)
    tx.emit(MeasureAdded(case_id=case.id, measure_id=measure.id, household_id=case.household_id,
                         region_code=case.region_code, kind=kind, started_on=started_on),
            subject=case.household_id, region_code=case.region_code)
    tx.audit("case.measure", "case", case.id, region_code=case.region_code,
             after={"measure_id": measure.id, "kind": kind, "started_on": started_on.isoformat()})
    return measure


async def measures_of(tx: Tx, case_id: str) -> list[Measure]:
    query = sa.select(Measure).where(Measure.case_id == case_id).order_by(Measure.id)
    return list((await tx.session.execute(query)).scalars().all())


async def record_step(tx: Tx, *, case: Case, step: str, decided_on: dt.date, note: str | None,
                      notice_from: dt.date | None, notice_to: dt.date | None) -> CaseStep:
    """A step of the elimination procedure (入户核实, 村级评议, 公示, 乡镇审核, 县级审定)."""
    _ensure_active(case)
    if step == DecisionStep.public_notice.value:
        await alerts.check_notice(tx, case.region_code, notice_from, notice_to)
    row = CaseStep(id=new_id(), case_id=case.id, step=step, decided_on=decided_on, note=note,
                   notice_from=notice_from, notice_to=notice_to, recorded_by=tx.actor)
    tx.session.add(row)
    case.version += 1
    case.updated_at = dt.datetime.now(dt.UTC)
    tx.emit(CaseStepRecorded(case_id=case.id, step_id=row.id, household_id=case.household_id,
                             region_code=case.region_code, step=step, decided_on=decided_on),
            subject=case.household_id, region_code=case.region_code)
    tx.audit(f"case.step.{step}", "case", case.id, region_code=case.region_code,
             after={"step_id": row.id, "step": step, "decided_on": decided_on.isoformat()})
    return row


async def steps_of(tx: Tx, case_id: str) -> list[CaseStep]:
    query = sa.select(CaseStep).where(CaseStep.case_id == case_id).order_by(CaseStep.id)
    return list((await tx.session.execute(query)).scalars().all())


async def eliminate(tx: Tx, *, case: Case, decided_on: dt.date, year: int | None) -> Case:
    """风险消除: refused with every unmet condition listed at once."""
    _ensure_active(case)
    unmet = await unmet_conditions(tx, case=case, decided_on=decided_on,
                                   year=year or decided_on.year,
                                   measures=await measures_of(tx, case.id),
                                   steps=[s.step for s in await steps_of(tx, case.id)])
    if unmet:
        raise RuleViolations("风险消除条件未满足 (risk elimination conditions not met)", unmet)
    before = snapshot(case)
    case.status, case.eliminated_on = CaseStatus.eliminated.value, decided_on
    case.version += 1
    case.updated_at = dt.datetime.now(dt.UTC)
    tx.emit(RiskEliminated(case_id=case.id, household_id=case.household_id,
                           region_code=case.region_code, decided_on=decided_on),
            subject=case.household_id, region_code=case.region_code)
    tx.audit("case.eliminate", "case", case.id, region_code=case.region_code, before=before,
             after=snapshot(case))
    return case


async def history(tx: Tx, case: Case) -> list[dict]:
    """Who did what to the case and its alert, oldest first (from the audit log)."""
    audit = tx.infra.audit
    query = (sa.select(audit.c.at, audit.c.actor, audit.c.action, audit.c.resource_type)
             .where(sa.or_(sa.and_(audit.c.resource_type == "case", audit.c.resource_id == case.id),
                           sa.and_(audit.c.resource_type == "alert",
                                   audit.c.resource_id == case.alert_id)))
             .order_by(audit.c.at, audit.c.id))
    return [dict(r._mapping) for r in (await tx.session.execute(query)).all()]


def snapshot(case: Case) -> dict:
    return case.model_dump(mode="json", exclude={"created_at", "updated_at"})
