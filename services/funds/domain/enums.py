"""Funds code lists (CONTRACT.md § Funds), each value with its Chinese label."""

from shared.web import LabeledEnum, describe


@describe
class FundLevel(LabeledEnum):
    """资金级次 / budget level"""

    central = "central", "中央"
    provincial = "provincial", "省级"
    municipal = "municipal", "市级"
    county = "county", "县级"


@describe
class FundKind(LabeledEnum):
    """资金类别 / kind of fund"""

    fiscal_special = "fiscal_special", "财政专项扶贫资金"
    integrated_agri = "integrated_agri", "统筹整合涉农资金"
    social = "social", "社会帮扶资金"
    collaboration = "collaboration", "东西部协作/定点帮扶"
    other = "other", "其他"


@describe
class Category(LabeledEnum):
    """项目类别 / project category (use of funds)"""

    industry = "industry", "产业发展"
    employment = "employment", "就业扶贫"
    infrastructure = "infrastructure", "基础设施"
    drinking_water = "drinking_water", "饮水安全"
    housing = "housing", "住房安全"
    education = "education", "教育扶贫"
    health = "health", "健康扶贫"
    social_security = "social_security", "社会保障兜底"
    other = "other", "其他"


@describe
class ProjectStatus(LabeledEnum):
    """项目状态 / project status in the library"""

    proposed = "proposed", "村申报"
    reviewed = "reviewed", "乡审核"
    approved = "approved", "县审定"


@describe
class AlertKind(LabeledEnum):
    """资金预警类型 / funds alert kind"""

    stagnant = "stagnant", "资金滞留"
    overdue_project = "overdue_project", "项目逾期未完成支出"
    household_left = "household_left", "支付对象已退出建档立卡"
    category_share = "category_share", "资金投向占比无法达标"


ALL_ENUMS = (FundLevel, FundKind, Category, ProjectStatus, AlertKind)
