"""Monitoring code lists (CONTRACT.md § Monitoring), each value with its Chinese label."""

from shared.web import LabeledEnum, describe


@describe
class SignalSource(LabeledEnum):
    """线索来源 / signal source"""

    self_report = "self_report", "农户自主申报"
    cadre_visit = "cadre_visit", "基层干部排查"
    department = "department", "部门筛查预警"


@describe
class AlertSource(LabeledEnum):
    """预警来源 / alert source: the signal sources plus the service's own rules"""

    self_report = "self_report", "农户自主申报"
    cadre_visit = "cadre_visit", "基层干部排查"
    department = "department", "部门筛查预警"
    automatic = "automatic", "系统自动预警（登记数据比对、批量排查）"


@describe
class Department(LabeledEnum):
    """预警部门 / department that screened the data"""

    medical_insurance = "medical_insurance", "医疗保障部门"
    civil_affairs = "civil_affairs", "民政部门"
    education = "education", "教育部门"
    disability_federation = "disability_federation", "残联"
    emergency_management = "emergency_management", "应急管理部门"
    human_resources = "human_resources", "人力资源社会保障部门"
    housing = "housing", "住房城乡建设部门"
    water = "water", "水利部门"
    other = "other", "其他部门"


@describe
class SignalKind(LabeledEnum):
    """风险类型（线索）/ kind of risk a signal or rule reports"""

    high_medical_expense = "high_medical_expense", "医疗支出较大"
    serious_illness = "serious_illness", "患大病重病"
    disability = "disability", "因残"
    disaster = "disaster", "因灾"
    accident = "accident", "意外事故"
    unemployment = "unemployment", "失业或务工不稳"
    income_drop = "income_drop", "收入大幅下降"
    school_dropout = "school_dropout", "辍学"
    housing_unsafe = "housing_unsafe", "住房不安全"
    other = "other", "其他"
    income_below_line = "income_below_line", "人均纯收入低于监测线（系统规则）"
    guarantee_unmet = "guarantee_unmet", "两不愁三保障或饮水安全未保障（系统规则）"
    relapse = "relapse", "返贫（系统规则）"


@describe
class Category(LabeledEnum):
    """监测对象类别 / category of a monitored household"""

    unstable = "unstable", "脱贫不稳定户"
    marginal = "marginal", "边缘易致贫户"
    sudden_hardship = "sudden_hardship", "突发严重困难户"


@describe
class RiskType(LabeledEnum):
    """风险类别 / risk type: the registry's causes plus three monitoring-specific ones"""

    illness = "illness", "因病"
    disability = "disability", "因残"
    education = "education", "因学"
    disaster = "disaster", "因灾"
    lack_land = "lack_land", "缺土地"
    lack_water = "lack_water", "缺水"
    lack_skills = "lack_skills", "缺技术"
    lack_labor = "lack_labor", "缺劳力"
    lack_capital = "lack_capital", "缺资金"
    poor_transport = "poor_transport", "交通条件落后"
    low_motivation = "low_motivation", "自身发展动力不足"
    other = "other", "其他"
    accident = "accident", "因意外事故"
    industry_failure = "industry_failure", "因产业项目失败"
    employment_unstable = "employment_unstable", "因务工就业不稳"


@describe
class AlertStatus(LabeledEnum):
    """预警状态 / alert status"""

    open = "open", "待核实认定"
    enrolled = "enrolled", "已纳入监测"
    dismissed = "dismissed", "核实后不纳入"


@describe
class CaseStatus(LabeledEnum):
    """监测对象状态 / case status"""

    active = "active", "监测帮扶中"
    eliminated = "eliminated", "风险已消除"


@describe
class MeasureKind(LabeledEnum):
    """帮扶措施类别 / assistance measure kind"""

    industry = "industry", "产业帮扶"
    employment = "employment", "就业帮扶"
    health = "health", "健康帮扶"
    education = "education", "教育帮扶"
    social_security = "social_security", "综合保障（兜底）"
    housing = "housing", "住房安全保障"
    other = "other", "其他"


@describe
class DecisionStep(LabeledEnum):
    """认定程序步骤 / step of the identification procedure"""

    verification = "verification", "入户核实（签署承诺授权书）"
    info_check = "info_check", "信息比对"
    village_review = "village_review", "村级民主评议"
    public_notice = "public_notice", "村级公示"
    township_review = "township_review", "乡镇审核"
    county_approval = "county_approval", "县级审定"


ALL_ENUMS = (SignalSource, AlertSource, Department, SignalKind, Category, RiskType, AlertStatus,
             CaseStatus, MeasureKind, DecisionStep)
