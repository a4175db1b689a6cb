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


ALL_ENUMS = (TaskStatus,)
