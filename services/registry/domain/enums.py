"""Registry code lists (CONTRACT.md § Registry), each value with its Chinese label."""

from shared.web import LabeledEnum, describe


@describe
class Attribute(LabeledEnum):
    """贫困户属性 / household attribute"""

    general = "general", "一般贫困户"
    dibao = "dibao", "低保贫困户"
    tekun = "tekun", "特困供养贫困户"


@describe
class HouseholdStatus(LabeledEnum):
    """脱贫状态 / poverty status"""

    poor = "poor", "未脱贫"
    exited = "exited", "已脱贫"
    relapsed = "relapsed", "返贫"


@describe
class Cause(LabeledEnum):
    """致贫原因 / cause of poverty"""

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


@describe
class Relation(LabeledEnum):
    """与户主关系 / relation to the head of household"""

    head = "head", "户主"
    spouse = "spouse", "配偶"
    child = "child", "子女"
    parent = "parent", "父母"
    grandchild = "grandchild", "孙子女"
    sibling = "sibling", "兄弟姐妹"
    other = "other", "其他"


@describe
class LaborAbility(LabeledEnum):
    """劳动能力 / labour ability"""

    normal = "normal", "普通劳动力"
    skilled = "skilled", "技能劳动力"
    weak = "weak", "弱劳动力或半劳动力"
    lost = "lost", "丧失劳动力"
    none = "none", "无劳动力"


@describe
class Health(LabeledEnum):
    """健康状况 / health"""

    healthy = "healthy", "健康"
    chronic = "chronic", "长期慢性病"
    serious_illness = "serious_illness", "患有大病"
    disabled = "disabled", "残疾"


@describe
class Schooling(LabeledEnum):
    """在校生状况 / schooling"""

    none = "none", "非在校生"
    preschool = "preschool", "学前教育"
    primary = "primary", "小学"
    junior = "junior", "七年级至九年级"
    senior = "senior", "普通高中"
    vocational = "vocational", "中职/高职"
    college = "college", "大专及以上"
    dropout = "dropout", "辍学"


@describe
class RemovalReason(LabeledEnum):
    """减员原因 / why a member left the household"""

    death = "death", "死亡"
    moved_out = "moved_out", "迁出"
    married_out = "married_out", "嫁出"
    other = "other", "其他"


@describe
class Sex(LabeledEnum):
    """性别 / sex (derived from the ID number)"""

    male = "male", "男"
    female = "female", "女"


@describe
class RegionLevelEnum(LabeledEnum):
    """行政区划级别 / region level"""

    province = "province", "省级"
    city = "city", "市级"
    county = "county", "县级"
    township = "township", "乡镇级"
    village = "village", "村级"


ALL_ENUMS = (Attribute, HouseholdStatus, Cause, Relation, LaborAbility, Health, Schooling,
             RemovalReason, Sex, RegionLevelEnum)
