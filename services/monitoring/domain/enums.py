"""Monitoring code lists (CONTRACT.md § Monitoring), each value with its Chinese label."""

from shared.web import LabeledEnum, describe


@describe
class SignalSource(LabeledEnum):
    """线索来源 / signal source"""

    self_report = "self_report", "农户自主申报"
    cadre_visit = "cadre_visit", "基层干部排查"
    department = "department", "部门筛查预警"


ALL_ENUMS = (SignalSource,)
