"""The calendar tasks are judged by: dates in Asia/Shanghai, whatever the server's zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def today(now: dt.datetime | None = None) -> dt.date:
    """The current date in China (a task due on D is overdue from D+1 00:00 Beijing time)."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(SHANGHAI).date()
