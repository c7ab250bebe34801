"""China time (Asia/Shanghai, UTC+8, no daylight saving since 1991): the dates on receipts and in the API.

A receipt issued at 23:30 UTC is issued on the next day in China, and that is the day its
validity counts from. A fixed offset needs no tz database on the machine.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

CHINA_TIME = timezone(timedelta(hours=8), "Asia/Shanghai")


def china_date(moment: datetime) -> date:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("china_date needs a timezone-aware datetime")
    return moment.astimezone(CHINA_TIME).date()


def china_today(now: datetime | None = None) -> date:
    return china_date(now or datetime.now(UTC))


def china_iso(moment: datetime) -> str:
    """ISO 8601 with the +08:00 offset, to the second ("2025-01-31T16:15:00+08:00")."""
    return moment.astimezone(CHINA_TIME).replace(microsecond=0).isoformat()
