"""Funds code lists (CONTRACT.md § Funds), each value with its Chinese label."""

from shared.web import LabeledEnum, describe


@describe
class FundLevel(LabeledEnum):
    """资金级次 / budget level"""

    central = "central", "中央"
    provincial = "provincial", "省级"
    municipal = "municipal", "市级"
    county = "county", "县级"


ALL_ENUMS = (FundLevel,)
