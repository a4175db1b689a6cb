"""Events the funds service (专项扶贫资金) publishes. Amounts are integer fen."""

from __future__ import annotations

import datetime as dt

from shared.events.envelope import EventData, event_type
from shared.events.topics import FUNDS_LEDGER


@event_type("funds.source.registered", topic=FUNDS_LEDGER, summary="资金下达 / fund source registered")
class SourceRegistered(EventData):
    source_id: str
    region_code: str
    level: str
    kind: str
    fiscal_year: int
    amount_fen: int
    permitted_categories: list[str]


@event_type("funds.project.approved", topic=FUNDS_LEDGER, summary="项目审定 / project approved")
class ProjectApproved(EventData):
    project_id: str
    region_code: str
    category: str
    budget_fen: int
    beneficiary_count: int


@event_type("funds.allocation.made", topic=FUNDS_LEDGER, summary="资金分配 / allocation made")
class AllocationMade(EventData):
    allocation_id: str
    source_id: str
    project_id: str
    region_code: str
    amount_fen: int
    allocated_on: dt.date


@event_type("funds.disbursement.made", topic=FUNDS_LEDGER, summary="资金支付 / disbursement made")
class DisbursementMade(EventData):
    disbursement_id: str
    allocation_id: str
    project_id: str
    region_code: str
    amount_fen: int
    paid_on: dt.date
    household_id: str | None


@event_type("funds.disbursement.reversed", topic=FUNDS_LEDGER, summary="冲正 / disbursement reversed")
class DisbursementReversed(EventData):
    disbursement_id: str
    reversal_id: str
    allocation_id: str
    region_code: str
    amount_fen: int


@event_type("funds.alert.raised", topic=FUNDS_LEDGER, summary="资金预警 / funds alert raised")
class FundsAlertRaised(EventData):
    alert_id: str
    kind: str
    region_code: str
    project_id: str | None
    allocation_id: str | None
    amount_fen: int | None
    disbursement_id: str | None = None
    household_id: str | None = None
    fiscal_year: int | None = None
    category: str | None = None
    raised_on: dt.date | None = None


@event_type("funds.project.rolled_over", topic=FUNDS_LEDGER,
            summary="项目结转下年度项目库 / unfunded project rolled over to next year")
class ProjectRolledOver(EventData):
    project_id: str
    region_code: str
    from_year: int
    to_year: int
