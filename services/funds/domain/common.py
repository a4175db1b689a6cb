"""What several funds modules share: the local date, fiscal-year bounds, rule lookup."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from services.funds.db.tables import FundRule
from shared.errors import Unprocessable
from shared.regions import longest_prefix_match
from shared.tx import Tx

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_STAGNANT_DAYS = 90
DEFAULT_SHARE_KINDS = ("fiscal_special",)


def today() -> dt.date:
    """The calendar day in China, whatever the server's clock zone."""
    return dt.datetime.now(SHANGHAI).date()


def check_fiscal_year(year: int, *, field_name: str = "fiscal_year") -> None:
    if year > today().year + 1:
        raise Unprocessable("fiscal_year_out_of_range",
                            f"预算年度不得晚于明年 {today().year + 1} (fiscal year too far ahead)",
                            field=field_name)


@dataclass(frozen=True)
class EffectiveRule:
    """The rule in force for one region and year, each setting from its longest prefix."""

    stagnant_days: int = DEFAULT_STAGNANT_DAYS
    require_township_review: bool = False
    min_shares: dict[str, str] = field(default_factory=dict)
    share_kinds: tuple[str, ...] = DEFAULT_SHARE_KINDS
    region_code: str | None = None


async def rules_of_year(tx: Tx, year: int) -> dict[str, FundRule]:
    rows = (await tx.session.execute(
        sa.select(FundRule).where(FundRule.fiscal_year == year))).scalars().all()
    return {r.region_code: r for r in rows}


def effective(rules: dict[str, FundRule], region_code: str) -> EffectiveRule:
    """Resolve each setting separately: the longest prefix that sets it wins."""
    def pick(attr: str, empty: object) -> FundRule | None:
        candidates = {k: r for k, r in rules.items() if getattr(r, attr) not in (None, empty)}
        key = longest_prefix_match(region_code, candidates)
        return candidates[key] if key is not None else None

    stagnant = pick("stagnant_days", None)
    review = pick("require_township_review", None)
    shares = pick("min_shares", {})
    kinds = pick("share_kinds", [])
    return EffectiveRule(
        stagnant_days=stagnant.stagnant_days if stagnant else DEFAULT_STAGNANT_DAYS,
        require_township_review=bool(review.require_township_review) if review else False,
        min_shares=dict(shares.min_shares) if shares else {},
        share_kinds=tuple(kinds.share_kinds) if kinds else DEFAULT_SHARE_KINDS,
        region_code=shares.region_code if shares else None)


async def rule_for(tx: Tx, *, year: int, region_code: str) -> EffectiveRule:
    return effective(await rules_of_year(tx, year), region_code)
