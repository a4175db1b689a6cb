"""Funds rules per fiscal year and region prefix: stagnant days, whether the township review
is required before approval, and minimum category shares (e.g. industry ≥ 55 %)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from services.funds.db.tables import FundRule
from services.funds.domain.common import check_fiscal_year
from shared.tx import Tx


async def set_rule(tx: Tx, *, fiscal_year: int, region_code: str, stagnant_days: int | None,
                   require_township_review: bool | None, min_shares: dict[str, Decimal],
                   share_kinds: list[str]) -> FundRule:
    """Create or replace the rule of one year and region prefix."""
    check_fiscal_year(fiscal_year)
    rule = await tx.session.get(FundRule, (fiscal_year, region_code), with_for_update=True)
    before = rule.model_dump(mode="json") if rule else None
    shares = {k: f"{v:.2f}" for k, v in sorted(min_shares.items())}
    if rule is None:
        rule = FundRule(fiscal_year=fiscal_year, region_code=region_code, updated_by=tx.actor)
        tx.session.add(rule)
    else:
        rule.version += 1
    rule.stagnant_days = stagnant_days
    rule.require_township_review = require_township_review
    rule.min_shares = shares
    rule.share_kinds = sorted(set(share_kinds))
    rule.updated_by, rule.updated_at = tx.actor, dt.datetime.now(dt.UTC)
    await tx.session.flush()
    tx.audit("rule.set", "fund_rule", f"{fiscal_year}:{region_code}", region_code=region_code,
             before=before, after=rule.model_dump(mode="json"))
    return rule


async def list_rules(tx: Tx, *, fiscal_year: int, region: str) -> list[FundRule]:
    return list((await tx.session.execute(
        sa.select(FundRule).where(FundRule.fiscal_year == fiscal_year,
                                  FundRule.region_code.startswith(region))
        .order_by(FundRule.region_code))).scalars().all())
