"""Dates as the offices count them: today in China Standard Time, calendar or working days."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


def today() -> dt.date:
    """Today's date in Asia/Shanghai (due dates and the overdue flag are counted in it)."""
    return dt.datetime.now(CHINA).date()


def add_days(start: dt.date, days: int, *, working: bool) -> dt.date:
    """`start` plus `days` calendar days, or plus `days` working days (Monday to Friday;
    public holidays and adjusted weekends are not modelled)."""
    if not working:
        return start + dt.timedelta(days=days)
    current, left = start, days
    while left > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


def add_months(start: dt.date, months: int) -> dt.date:
    """Same day `months` later, clamped to the month's last day (31 Aug + 6 → 28/29 Feb)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    for day in (start.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(start.day, day))
        except ValueError:
            continue
    raise ValueError("unreachable")
