"""Events the monitoring service (防返贫动态监测) publishes."""

from __future__ import annotations

import datetime as dt

from shared.events.envelope import EventData, event_type
from shared.events.topics import MONITORING_CASES


@event_type("monitoring.signal.received", topic=MONITORING_CASES, summary="收到风险线索 / risk signal received")
class SignalReceived(EventData):
    signal_id: str
    household_id: str | None
    region_code: str | None
    source: str
    department: str | None
    kind: str
    amount_fen: int | None
    occurred_on: dt.date


@event_type("monitoring.signal.matched", topic=MONITORING_CASES,
            summary="线索人工匹配到户 / unmatched signal matched to a household")
class SignalMatched(EventData):
    signal_id: str
    household_id: str
    region_code: str
    alert_id: str


@event_type("monitoring.alert.raised", topic=MONITORING_CASES, summary="风险预警 / alert raised")
class AlertRaised(EventData):
    alert_id: str
    household_id: str
    region_code: str
    kinds: list[str]
    sources: list[str]
    due_on: dt.date
    raised_on: dt.date | None = None


@event_type("monitoring.alert.evidence_added", topic=MONITORING_CASES,
            summary="已有预警追加风险 / new evidence added to an open alert")
class AlertEvidenceAdded(EventData):
    alert_id: str
    household_id: str
    region_code: str
    kinds: list[str]
    sources: list[str]


@event_type("monitoring.alert.step_recorded", topic=MONITORING_CASES,
            summary="认定程序步骤 / identification step recorded")
class AlertStepRecorded(EventData):
    alert_id: str
    step_id: str
    household_id: str
    region_code: str
    step: str
    decided_on: dt.date


@event_type("monitoring.alert.dismissed", topic=MONITORING_CASES, summary="核实后不纳入 / alert dismissed")
class AlertDismissed(EventData):
    alert_id: str
    household_id: str
    region_code: str
    reason: str


@event_type("monitoring.case.enrolled", topic=MONITORING_CASES, summary="纳入监测 / case enrolled")
class CaseEnrolled(EventData):
    case_id: str
    alert_id: str
    household_id: str
    region_code: str
    category: str
    risk_types: list[str]
    decided_on: dt.date


@event_type("monitoring.case.measure_added", topic=MONITORING_CASES, summary="帮扶措施 / measure added")
class MeasureAdded(EventData):
    case_id: str
    measure_id: str
    household_id: str
    region_code: str
    kind: str
    started_on: dt.date


@event_type("monitoring.case.step_recorded", topic=MONITORING_CASES,
            summary="风险消除程序步骤 / risk-elimination step recorded")
class CaseStepRecorded(EventData):
    case_id: str
    step_id: str
    household_id: str
    region_code: str
    step: str
    decided_on: dt.date


@event_type("monitoring.case.risk_eliminated", topic=MONITORING_CASES, summary="风险消除 / risk eliminated")
class RiskEliminated(EventData):
    case_id: str
    household_id: str
    region_code: str
    decided_on: dt.date
