"""Time helpers: every timestamp jobmill handles is an aware UTC datetime."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime, field: str = "datetime") -> datetime:
    """``value`` converted to UTC; a naive datetime is rejected, not guessed."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def as_seconds(value: float | timedelta, field: str = "delay") -> float:
    """Seconds from a number or a timedelta; negative values are rejected."""
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if math.isnan(seconds):
        raise ValueError(f"{field} must be a number of seconds, got {seconds}")
    if seconds < 0:
        raise ValueError(f"{field} must not be negative, got {seconds}")
    return seconds
