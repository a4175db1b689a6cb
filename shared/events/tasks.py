"""Events the tasks service (任务与责任) publishes."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from shared.events.envelope import EventData, event_type
from shared.events.topics import TASKS


@event_type("tasks.task.created", topic=TASKS, summary="任务创建 / task created")
class TaskCreated(EventData):
    task_id: str
    plan_id: str | None
    region_code: str
    lead_unit_id: str
    cooperating_unit_ids: list[str]
    due_on: dt.date
    category: str | None
    lead_official_id: str | None = None
    source: str | None = Field(default=None, description="what created it: api, plan_import, "
                               "monitoring_case (a rule reacting to an enrolled case)")


@event_type("tasks.task.progress_reported", topic=TASKS, summary="进度报告 / progress reported")
class TaskProgressReported(EventData):
    task_id: str
    region_code: str
    reported_on: dt.date
    value: float | None
    status: str = "in_progress"


@event_type("tasks.task.completed", topic=TASKS, summary="任务完成 / task completed")
class TaskCompleted(EventData):
    task_id: str
    region_code: str
    completed_on: dt.date
    lead_unit_id: str | None = None
    days_late: int = 0


@event_type("tasks.task.verified", topic=TASKS, summary="销号 / task verified")
class TaskVerified(EventData):
    task_id: str
    region_code: str
    verified_on: dt.date


@event_type("tasks.task.cancelled", topic=TASKS, summary="任务取消 / task cancelled")
class TaskCancelled(EventData):
    task_id: str
    region_code: str
    reason: str


@event_type("tasks.task.overdue", topic=TASKS, summary="任务逾期 / task overdue")
class TaskOverdue(EventData):
    task_id: str
    region_code: str
    lead_unit_id: str
    due_on: dt.date
    detected_on: dt.date | None = None


@event_type("tasks.rectification.opened", topic=TASKS, summary="整改立项 / rectification opened")
class RectificationOpened(EventData):
    rectification_id: str
    region_code: str
    source: str
    responsible_unit_id: str
    due_on: dt.date


@event_type("tasks.rectification.closed", topic=TASKS, summary="整改销号 / rectification closed")
class RectificationClosed(EventData):
    rectification_id: str
    region_code: str
    closed_on: dt.date


@event_type("tasks.pairing.assigned", topic=TASKS, summary="结对帮扶 / pairing assigned")
class PairingAssigned(EventData):
    household_id: str
    official_id: str
    region_code: str
    previous_official_id: str | None = None
