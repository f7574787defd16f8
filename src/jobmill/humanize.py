"""Times, durations and ids as people read them; shared by the CLI and the dashboard."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

SHORT_ID_LENGTH = 8


def format_time(moment: datetime | None, missing: str = "-") -> str:
    """``2026-11-28 10:23:05`` in UTC, or ``missing``."""
    if moment is None:
        return missing
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def format_duration(seconds: float | None, missing: str = "-") -> str:
    """A duration read at a glance: ``850 ms``, ``12.4 s``, ``3m 05s``, ``2h 10m``, ``3d 04h``."""
    if seconds is None:
        return missing
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    return f"{hours // 24}d {hours % 24:02d}h"


def short_ids(ids: Sequence[str], minimum: int = SHORT_ID_LENGTH) -> dict[str, str]:
    """The shortest prefix (at least ``minimum`` long) telling each id from the others.

    UUIDv7 ids share their first characters for a minute, so a fixed length
    would show jobs queued together with the same short id.
    """
    ordered = sorted(set(ids))
    shown: dict[str, str] = {}
    for index, job_id in enumerate(ordered):
        neighbours = ordered[max(0, index - 1) : index] + ordered[index + 1 : index + 2]
        length = max([minimum, *(_common_prefix(job_id, other) + 1 for other in neighbours)])
        shown[job_id] = job_id[:length]
    return shown


def _common_prefix(a: str, b: str) -> int:
    length = 0
    for left, right in zip(a, b, strict=False):
        if left != right:
            break
        length += 1
    return length
