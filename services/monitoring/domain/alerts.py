"""Alerts (预警): raised by signals and rules, one open per household, decided within a limit."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from services.monitoring.db.tables import Alert, AlertStep
from services.monitoring.domain import calendar, rules
from services.monitoring.domain.enums import AlertStatus, DecisionStep
from shared.db import compiled_once, fixed_insert
from shared.errors import Conflict, NotFound, Unprocessable
from shared.events.monitoring import (
    AlertDismissed,
    AlertEvidenceAdded,
    AlertRaised,
    AlertStepRecorded,
)
from shared.ids import new_id
from shared.tx import Tx


async def raise_or_append(tx: Tx, *, household_id: str, region_code: str, kind: str,
                          source: str) -> Alert:
    """Raise an alert, or add the kind and source to the household's open one."""
    existing = await open_alert(tx, household_id)
    if existing is None:
        created = await _insert(tx, household_id=household_id, region_code=region_code,
                                kind=kind, source=source)
        if created is not None:
            return created
        existing = await open_alert(tx, household_id)  # a concurrent writer raised it first
        assert existing is not None
    return _append(tx, existing, kind=kind, source=source)


@dataclass(frozen=True)
class Lead:
    """One automatic lead for `raise_or_append_many`: a kind and source for a household."""

    household_id: str
    region_code: str
    kind: str
    source: str


async def raise_or_append_many(tx: Tx, leads: list[Lead]) -> None:
    """`raise_or_append` for many leads at once, with the same alerts, due dates, events and
    audit rows as applying them one by one in order: one query loads the open alerts of all
    the households, one multi-row insert raises the missing ones (a household's second lead
    waits for a later round, so it sees the alert its first one raised)."""
    for chunk in _rounds(leads):
        # Write the previous round's changes first: the read below refreshes the alerts it
        # loads (populate_existing), which would drop changes still pending in the session.
        await tx.session.flush()
        await _raise_or_append_round(tx, chunk)


def _rounds(leads: list[Lead]) -> list[list[Lead]]:
    """Split `leads` into rounds where a household appears at most once, keeping each
    household's order (round k holds every household's k-th lead)."""
    depth: dict[str, int] = {}
    rounds: list[list[Lead]] = []
    for lead in leads:
        level = depth.get(lead.household_id, 0)
        depth[lead.household_id] = level + 1
        if level == len(rounds):
            rounds.append([])
        rounds[level].append(lead)
    return rounds


async def _raise_or_append_round(tx: Tx, leads: list[Lead]) -> None:
    if not leads:
        return
    households = {lead.household_id for lead in leads}
    if len(households) != len(leads):
        raise ValueError("a round holds one lead per household")
    opened = await open_alerts(tx, households)
    missing = [lead for lead in leads if lead.household_id not in opened]
    if missing:
        raised = await _insert_many(tx, missing)
        lost = [lead for lead in missing if lead.household_id not in raised]
        if lost:  # a concurrent writer raised these first: add to its alert, as one by one
            opened.update(await open_alerts(tx, {lead.household_id for lead in lost}))
    for lead in leads:
        alert = opened.get(lead.household_id)
        if alert is not None:
            _append(tx, alert, kind=lead.kind, source=lead.source)


async def open_alerts(tx: Tx, household_ids: set[str]) -> dict[str, Alert]:
    """The open alert of each of `household_ids` that has one, locked (one query)."""
    if not household_ids:
        return {}
    query = (sa.select(Alert).where(Alert.household_id.in_(sorted(household_ids)),
                                    Alert.status == AlertStatus.open.value)
             .with_for_update().execution_options(populate_existing=True))
    return {a.household_id: a for a in (await tx.session.execute(query)).scalars()}


async def _insert_many(tx: Tx, leads: list[Lead]) -> set[str]:
    """Raise an alert for each lead in one INSERT ... ON CONFLICT DO NOTHING; return the
    households whose alert this statement created (the others got one concurrently)."""
    raised_on = calendar.today()
    rule_of = await rules.rule_finder(tx, year=raised_on.year)
    created = []
    for lead in leads:
        rule = rule_of(lead.region_code)
        created.append(Alert(
            id=new_id(), household_id=lead.household_id, region_code=lead.region_code,
            kinds=[lead.kind], sources=[lead.source], raised_on=raised_on,
            status=AlertStatus.open.value,
            due_on=calendar.add_days(raised_on, rule.due_days, working=rule.working_days)))
    columns = [c.name for c in _ALERTS.columns]
    # One row per household: RETURNING tells which of them this statement raised.
    result = await tx.session.execute(_insert_open_statement(tx.dialect),
                                      [{c: getattr(a, c) for c in columns} for a in created])
    raised = set(result.scalars())
    for alert in created:
        if alert.household_id in raised:
            tx.emit(raised_event(alert), subject=alert.household_id,
                    region_code=alert.region_code)
            tx.audit("alert.raise", "alert", alert.id, region_code=alert.region_code,
                     after=snapshot(alert))
    return raised


_ALERTS = Alert.__table__


@functools.cache
def _insert_open_statement(dialect: str):
    """INSERT an open alert unless the household has one (built and compiled once; executed
    with many rows, RETURNING the households it raised)."""
    return compiled_once(fixed_insert(dialect, _ALERTS)
                         .on_conflict_do_nothing(index_elements=["household_id"],
                                                 index_where=sa.text("status = 'open'"))
                         .returning(_ALERTS.c.household_id))


async def open_alert(tx: Tx, household_id: str) -> Alert | None:
    query = (sa.select(Alert).where(Alert.household_id == household_id,
                                    Alert.status == AlertStatus.open.value)
             .with_for_update().execution_options(populate_existing=True))
    return (await tx.session.execute(query)).scalars().first()


async def due_date(tx: Tx, *, region_code: str, raised_on: dt.date) -> dt.date:
    _, rule = await rules.effective_rule(tx, year=raised_on.year, region_code=region_code)
    return calendar.add_days(raised_on, rule.due_days, working=rule.working_days)


async def _insert(tx: Tx, *, household_id: str, region_code: str, kind: str,
                  source: str) -> Alert | None:
    raised_on = calendar.today()
    alert = Alert(id=new_id(), household_id=household_id, region_code=region_code, kinds=[kind],
                  sources=[source], raised_on=raised_on, status=AlertStatus.open.value,
                  due_on=await due_date(tx, region_code=region_code, raised_on=raised_on))
    try:
        async with tx.session.begin_nested():
            tx.session.add(alert)
    except IntegrityError:
        return None
    tx.emit(raised_event(alert), subject=household_id, region_code=region_code)
    tx.audit("alert.raise", "alert", alert.id, region_code=region_code, after=snapshot(alert))
    return alert


def raised_event(alert: Alert) -> AlertRaised:
    return AlertRaised(alert_id=alert.id, household_id=alert.household_id,
                       region_code=alert.region_code, kinds=list(alert.kinds),
                       sources=list(alert.sources), due_on=alert.due_on,
                       raised_on=alert.raised_on)


def _append(tx: Tx, alert: Alert, *, kind: str, source: str) -> Alert:
    kinds = alert.kinds if kind in alert.kinds else [*alert.kinds, kind]
    sources = alert.sources if source in alert.sources else [*alert.sources, source]
    if kinds == alert.kinds and sources == alert.sources:
        return alert  # nothing new: a repeated lead changes nothing
    before = snapshot(alert)
    alert.kinds, alert.sources = list(kinds), list(sources)
    _touch(alert)
    tx.emit(AlertEvidenceAdded(alert_id=alert.id, household_id=alert.household_id,
                               region_code=alert.region_code, kinds=alert.kinds,
                               sources=alert.sources),
            subject=alert.household_id, region_code=alert.region_code)
    tx.audit("alert.evidence", "alert", alert.id, region_code=alert.region_code, before=before,
             after=snapshot(alert))
    return alert


async def get_alert(tx: Tx, alert_id: str, *, lock: bool = False) -> Alert:
    alert = await tx.session.get(Alert, alert_id, with_for_update=lock,
                                 populate_existing=lock)
    if alert is None:
        raise NotFound("预警")
    return alert


def is_overdue(alert: Alert, today: dt.date) -> bool:
    return alert.status == AlertStatus.open.value and alert.due_on < today


async def list_alerts(tx: Tx, *, within: str, status: str | None, overdue: bool | None,
                      limit: int, after: str | None) -> list[Alert]:
    """Alerts inside `within`, the most overdue (earliest due date) first."""
    today = calendar.today()
    query = sa.select(Alert).where(Alert.region_code.startswith(within))
    if status:
        query = query.where(Alert.status == status)
    late = sa.and_(Alert.status == AlertStatus.open.value, Alert.due_on < today)
    if overdue is not None:
        query = query.where(late if overdue else sa.not_(late))
    if after:
        due, _, last_id = after.partition("|")
        due_on = dt.date.fromisoformat(due)
        query = query.where(sa.or_(Alert.due_on > due_on,
                                   sa.and_(Alert.due_on == due_on, Alert.id > last_id)))
    query = query.order_by(Alert.due_on, Alert.id).limit(limit + 1)
    return list((await tx.session.execute(query)).scalars().all())


def cursor_of(alert: Alert) -> str:
    return f"{alert.due_on.isoformat()}|{alert.id}"


def ensure_open(alert: Alert) -> None:
    if alert.status != AlertStatus.open.value:
        raise Conflict("alert_closed",
                       f"预警已处理（{alert.status}），不能再次认定 (alert is no longer open)",
                       field="status")


async def record_step(tx: Tx, *, alert: Alert, step: str, decided_on: dt.date,
                      note: str | None, notice_from: dt.date | None,
                      notice_to: dt.date | None) -> AlertStep:
    """Record one step of the procedure (who: the caller; when: now and `decided_on`)."""
    ensure_open(alert)
    if step == DecisionStep.public_notice.value:
        await check_notice(tx, alert.region_code, notice_from, notice_to)
    row = AlertStep(id=new_id(), alert_id=alert.id, step=step, decided_on=decided_on, note=note,
                    notice_from=notice_from, notice_to=notice_to, recorded_by=tx.actor)
    tx.session.add(row)
    _touch(alert)
    tx.emit(AlertStepRecorded(alert_id=alert.id, step_id=row.id, household_id=alert.household_id,
                              region_code=alert.region_code, step=step, decided_on=decided_on),
            subject=alert.household_id, region_code=alert.region_code)
    tx.audit(f"alert.step.{step}", "alert", alert.id, region_code=alert.region_code,
             after={"step_id": row.id, "step": step, "decided_on": decided_on.isoformat()})
    return row


async def check_notice(tx: Tx, region_code: str, notice_from: dt.date | None,
                       notice_to: dt.date | None) -> None:
    """公示: both dates given and at least the rule's minimum number of days (inclusive)."""
    if notice_from is None or notice_to is None or notice_to < notice_from:
        raise Unprocessable("notice_period_required",
                            "公示须填写起止日期 (public notice needs notice_from and notice_to)",
                            field="notice_from")
    _, rule = await rules.effective_rule(tx, year=notice_from.year, region_code=region_code)
    days = (notice_to - notice_from).days + 1
    if days < rule.min_notice_days:
        raise Unprocessable("notice_too_short",
                            f"公示期 {days} 天，不少于 {rule.min_notice_days} 天 "
                            f"(public notice shorter than the rule's minimum)",
                            field="notice_to")


async def steps_of(tx: Tx, alert_id: str) -> list[AlertStep]:
    query = sa.select(AlertStep).where(AlertStep.alert_id == alert_id).order_by(AlertStep.id)
    return list((await tx.session.execute(query)).scalars().all())


async def dismiss(tx: Tx, *, alert: Alert, reason: str, decided_on: dt.date) -> Alert:
    """Close the alert without enrolment, with the reason found on verification."""
    ensure_open(alert)
    before = snapshot(alert)
    alert.status, alert.reason, alert.decided_on = AlertStatus.dismissed.value, reason, decided_on
    _touch(alert)
    tx.emit(AlertDismissed(alert_id=alert.id, household_id=alert.household_id,
                           region_code=alert.region_code, reason=reason),
            subject=alert.household_id, region_code=alert.region_code)
    tx.audit("alert.dismiss", "alert", alert.id, region_code=alert.region_code, before=before,
             after=snapshot(alert))
    return alert


def _touch(alert: Alert) -> None:
    alert.version += 1
    alert.updated_at = dt.datetime.now(dt.UTC)


def snapshot(alert: Alert) -> dict:
    return alert.model_dump(mode="json", exclude={"updated_at", "raised_at"})
