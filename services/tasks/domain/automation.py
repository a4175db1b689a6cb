"""Work created from other services' events (CONTRACT.md § Tasks, rules).

* An enrolled monitoring case gives a task "落实帮扶措施" to the paired official's unit; for
  an unpaired household (or a paired official without a unit) to the township's unit (a unit
  whose region_code is the household's `region_code[:9]`), else the county's
  (`region_code[:6]`). With no unit there either the handler fails with
  `no_responsible_unit`, so the event lands in dead letters and can be redriven once a unit
  exists. Due `case_task_due_days` (default 15) after the enrolment decision.
* A funds `stagnant` alert opens a rectification (source `funds_alert`) for the project's
  region, owned by the unit nearest above that region (village, township, county, city,
  province), due `rectification_due_days` (default 30) after the alert's `raised_on` (or the
  event's time, as a Beijing date, when absent); the responsible person is `待指定` until the
  unit names one with `PATCH /rectifications/{id}`.

Both carry a `source_key` (case id, alert id) so a redelivered or re-published fact creates
nothing new."""

from __future__ import annotations

import datetime as dt

from services.tasks.db.tables import Official, Pairing, Rectification, Task, Unit
from services.tasks.domain import rectifications, rules, tasks, units
from services.tasks.domain.calendar import today as shanghai_today
from shared.errors import Unprocessable
from shared.events.funds import FundsAlertRaised
from shared.events.monitoring import CaseEnrolled
from shared.regions import ancestors
from shared.tx import Tx

CASE_TASK_TITLE = "落实帮扶措施"
AWAITING_PERSON = "待指定"


async def unit_for_household(tx: Tx, *, household_id: str, region_code: str) -> tuple[Unit, str | None]:
    """The paired official's unit, else the township's, else the county's."""
    pairing = await tx.session.get(Pairing, household_id)
    if pairing is not None:
        official = await tx.session.get(Official, pairing.official_id)
        if official is not None and official.unit_id is not None:
            unit = await tx.session.get(Unit, official.unit_id)
            if unit is not None:
                return unit, official.id
    unit = await units.nearest_unit(tx, region_codes=[region_code[:9], region_code[:6]])
    if unit is None:
        raise Unprocessable("no_responsible_unit", "该户所在乡镇及县均无单位，无法派发任务 "
                            "(no unit in the township or county)", field="region_code")
    return unit, pairing.official_id if pairing else None


async def task_for_enrolled_case(tx: Tx, payload: CaseEnrolled) -> Task:
    unit, official_id = await unit_for_household(tx, household_id=payload.household_id,
                                                 region_code=payload.region_code)
    limits = await rules.limits_for(tx, year=payload.decided_on.year,
                                    region_code=payload.region_code)
    due_on = payload.decided_on + dt.timedelta(days=limits.case_task_due_days)
    return await tasks.create_task(
        tx, title=CASE_TASK_TITLE, region_code=payload.region_code, lead_unit_id=unit.id,
        lead_official_id=official_id, due_on=due_on, category="monitoring_case",
        description=f"监测对象 case {payload.case_id}，household {payload.household_id}，"
                    f"类别 {payload.category}，风险 {'、'.join(payload.risk_types)}",
        source="monitoring_case", source_key=f"monitoring.case:{payload.case_id}")


async def rectification_for_alert(tx: Tx, payload: FundsAlertRaised,
                                  received_on: dt.date | None = None) -> Rectification | None:
    if payload.kind != "stagnant":
        return None
    region = payload.region_code
    unit = await units.nearest_unit(tx, region_codes=list(reversed(ancestors(region)[1:])))
    if unit is None:
        raise Unprocessable("no_responsible_unit", "项目所在区域无单位，无法立项整改 "
                            "(no unit for the project's region)", field="region_code")
    opened_on = received_on or shanghai_today()
    limits = await rules.limits_for(tx, year=opened_on.year, region_code=region)
    amount = f"，滞留 {payload.amount_fen / 100:.2f} 元" if payload.amount_fen else ""
    return await rectifications.open_rectification(
        tx, title=f"资金滞留整改：项目 {payload.project_id or '-'}{amount}", source="funds_alert",
        region_code=region, responsible_unit_id=unit.id, responsible_person=AWAITING_PERSON,
        due_on=opened_on + dt.timedelta(days=limits.rectification_due_days),
        source_key=f"funds.alert:{payload.alert_id}")
