"""Statistics per region prefix, computed by SQL aggregates."""

from __future__ import annotations

import sqlalchemy as sa

from services.monitoring.db.tables import Alert, Case, CaseRiskType
from services.monitoring.domain import calendar
from services.monitoring.domain.enums import AlertStatus
from shared.tx import Tx


async def stats(tx: Tx, *, within: str) -> dict:
    alerts_by = await _grouped(tx, Alert.status, Alert.region_code, within)
    overdue = (await tx.session.execute(
        sa.select(sa.func.count()).select_from(Alert).where(
            Alert.region_code.startswith(within), Alert.status == AlertStatus.open.value,
            Alert.due_on < calendar.today()))).scalar_one()
    risk = (await tx.session.execute(
        sa.select(CaseRiskType.risk_type, sa.func.count())
        .join(Case, Case.id == CaseRiskType.case_id)
        .where(Case.region_code.startswith(within))
        .group_by(CaseRiskType.risk_type))).all()
    return {
        "region": within,
        "alerts": {"total": sum(alerts_by.values()), "by_status": alerts_by,
                   "overdue": int(overdue)},
        "cases": {"total": sum((cases := await _grouped(tx, Case.status, Case.region_code,
                                                        within)).values()),
                  "by_status": cases,
                  "by_category": await _grouped(tx, Case.category, Case.region_code, within),
                  "by_risk_type": {r: int(n) for r, n in risk}},
    }


async def _grouped(tx: Tx, column, region_column, within: str) -> dict[str, int]:
    rows = (await tx.session.execute(
        sa.select(column, sa.func.count()).where(region_column.startswith(within))
        .group_by(column))).all()
    return {key: int(n) for key, n in rows}
