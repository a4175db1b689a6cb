"""Rules kept as data: poverty lines (扶贫标准) and village exit thresholds (出列 贫困发生率).

Both are stored per region prefix ("" = national); the longest prefix of a region's code wins.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from services.registry.db.tables import ExitThreshold, PovertyLine
from shared.db import upsert
from shared.errors import Unprocessable
from shared.regions import ancestors, is_region_prefix, longest_prefix_match
from shared.tx import Tx

DEFAULT_EXIT_THRESHOLD_BP = 200
"""贫困村出列: poverty incidence below 2 % (seed 003) unless a region sets its own."""


@dataclass(frozen=True)
class Effective:
    """A resolved rule: the value and the prefix it came from (None: the built-in default)."""

    value: int
    matched_prefix: str | None


def _check_prefix(region_code: str) -> None:
    if not is_region_prefix(region_code):
        raise Unprocessable("invalid_region_code",
                            "区划代码应为空（全国）或 2/4/6/9/12 位数字 (invalid region code)",
                            field="region_code")


async def set_poverty_line(tx: Tx, *, year: int, region_code: str, amount_fen: int) -> PovertyLine:
    """Create or replace the line of `year` for the prefix `region_code`."""
    _check_prefix(region_code)
    if amount_fen <= 0:
        raise Unprocessable("invalid_amount", "扶贫标准必须大于零 (line must be positive)",
                            field="amount")
    before = await tx.session.get(PovertyLine, (year, region_code), with_for_update=True)
    old = before and {"amount_fen": before.amount_fen, "version": before.version}
    now = dt.datetime.now(dt.UTC)
    version = (before.version + 1) if before else 1
    await tx.session.execute(upsert(
        tx.dialect, PovertyLine.__table__,
        {"year": year, "region_prefix": region_code, "amount_fen": amount_fen,
         "version": version, "updated_at": now},
        keys=["year", "region_prefix"], update=["amount_fen", "version", "updated_at"]))
    line = await tx.session.get(PovertyLine, (year, region_code), populate_existing=True)
    assert line is not None
    tx.audit("poverty_line.set", "poverty_line", f"{year}:{region_code}",
             region_code=region_code or None, before=old,
             after={"amount_fen": amount_fen, "version": version})
    return line


async def poverty_line(tx: Tx, *, year: int, region_code: str) -> Effective | None:
    """The effective line of `year` for a region: the longest matching prefix, or None."""
    rows = (await tx.session.execute(
        sa.select(PovertyLine.region_prefix, PovertyLine.amount_fen)
        .where(PovertyLine.year == year, PovertyLine.region_prefix.in_(ancestors(region_code)))
    )).all()
    found = {r.region_prefix: r.amount_fen for r in rows}
    best = longest_prefix_match(region_code, found)
    return None if best is None else Effective(found[best], best)


async def set_exit_threshold(tx: Tx, *, region_code: str, threshold_bp: int) -> ExitThreshold:
    """Create or replace the 出列 threshold (basis points of a percent) for a prefix."""
    _check_prefix(region_code)
    if not 0 < threshold_bp <= 10_000:
        raise Unprocessable("invalid_threshold",
                            "阈值应在 0 到 100 之间 (threshold must be in (0, 100] percent)",
                            field="threshold_percent")
    before = await tx.session.get(ExitThreshold, region_code, with_for_update=True)
    old = before and {"threshold_bp": before.threshold_bp, "version": before.version}
    version = (before.version + 1) if before else 1
    await tx.session.execute(upsert(
        tx.dialect, ExitThreshold.__table__,
        {"region_prefix": region_code, "threshold_bp": threshold_bp, "version": version,
         "updated_at": dt.datetime.now(dt.UTC)},
        keys=["region_prefix"], update=["threshold_bp", "version", "updated_at"]))
    row = await tx.session.get(ExitThreshold, region_code, populate_existing=True)
    assert row is not None
    tx.audit("exit_threshold.set", "exit_threshold", region_code or "national",
             region_code=region_code or None, before=old,
             after={"threshold_bp": threshold_bp, "version": version})
    return row


async def exit_threshold(tx: Tx, *, region_code: str) -> Effective:
    """The effective 出列 threshold of a region: longest prefix, else the 2 % default."""
    rows = (await tx.session.execute(
        sa.select(ExitThreshold.region_prefix, ExitThreshold.threshold_bp)
        .where(ExitThreshold.region_prefix.in_(ancestors(region_code)))
    )).all()
    found = {r.region_prefix: r.threshold_bp for r in rows}
    best = longest_prefix_match(region_code, found)
    if best is None:
        return Effective(DEFAULT_EXIT_THRESHOLD_BP, None)
    return Effective(found[best], best)
