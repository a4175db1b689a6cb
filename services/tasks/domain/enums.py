"""Tasks code lists (CONTRACT.md § Tasks), each value with its Chinese label."""

from shared.web import LabeledEnum, describe


@describe
class TaskStatus(LabeledEnum):
    """任务状态 / task status"""

    open = "open", "未开始"
    in_progress = "in_progress", "推进中"
    completed = "completed", "已完成"
    verified = "verified", "已销号"
    cancelled = "cancelled", "已取消"


@describe
class RectificationSource(LabeledEnum):
    """整改问题来源 / where a rectification item came from"""

    inspection = "inspection", "督查检查"
    audit = "audit", "审计"
    monitoring = "monitoring", "动态监测"
    funds_alert = "funds_alert", "资金预警"
    other = "other", "其他"


@describe
class RectificationStatus(LabeledEnum):
    """整改状态 / rectification status"""

    open = "open", "整改中"
    closed = "closed", "已销号"


@describe
class CoverageStatus(LabeledEnum):
    """户状态（来自建档立卡事件）/ household status as projected from registry events"""

    poor = "poor", "未脱贫"
    exited = "exited", "已脱贫"
    relapsed = "relapsed", "返贫"


PENDING = (TaskStatus.open.value, TaskStatus.in_progress.value)
DONE = (TaskStatus.completed.value, TaskStatus.verified.value)

ALL_ENUMS = (TaskStatus, RectificationSource, RectificationStatus, CoverageStatus)
