"""Formatting for the templates: times, durations, JSON, paging. Pure functions;
time is a parameter. Values are returned as plain text: Jinja escapes them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from jobmill.humanize import format_duration
from jobmill.storable import json_text

PAGE_SIZE = 50
# Query parameters a redirect after an action carries, and what they say.
NOTICES = {
    "retried": "Retried {n} job{s}.",
    "skipped": "Skipped {n} job{s} that could not be retried (no longer failed or gone).",
    "cancelled": "Cancelled {n} job{s}.",
    "cancel_requested": "Asked {n} running job{s} to stop; {it} will end cancelled.",
    "discarded": "Discarded {n} failed job{s}; {it} stay{v} in the history as cancelled.",
    "cron_enabled": "Cron entry enabled; it runs from its next tick on.",
    "cron_disabled": "Cron entry disabled.",
    "cron_run": "Enqueued this job from its cron entry, outside the schedule.",
}


def relative_time(moment: datetime | None, now: datetime) -> str:
    """``3m 05s ago`` or ``in 2h 00m``."""
    if moment is None:
        return ""
    delta = (now - moment).total_seconds()
    if abs(delta) < 1:
        return "now"
    text = format_duration(abs(delta))
    return f"{text} ago" if delta > 0 else f"in {text}"


def pretty_json(value: Any) -> str:
    """Indented JSON for params and results (unicode kept readable)."""
    return json_text(value, sort_keys=True)


@dataclass(frozen=True)
class Page:
    """One page of a listing. Pages are found by fetching one extra row, not by
    counting, so paging stays cheap over millions of finished jobs."""

    number: int
    has_next: bool
    size: int = PAGE_SIZE

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def parse_page(raw: str | None) -> int:
    """The 1-based page number from the query string; anything odd is page 1."""
    try:
        number = int(raw or 1)
    except ValueError:
        return 1
    return max(1, min(number, 1_000_000))


def notices(query: Mapping[str, str]) -> list[str]:
    """The messages for the notice parameters in ``query`` (unknown ones are ignored,
    so a link cannot put text of its choosing on the page)."""
    messages = []
    for key, template in NOTICES.items():
        raw = query.get(key, "")
        if raw.isdigit() and int(raw) > 0:
            messages.append(_plural(template, int(raw)))
    return messages


def _plural(template: str, n: int) -> str:
    if n == 1:
        return template.format(n=n, s="", it="it", v="s")
    return template.format(n=n, s="s", it="they", v="")


def without_notices(query: Mapping[str, str]) -> dict[str, str]:
    """``query`` less the notice parameters (for links back to the same page)."""
    return {key: value for key, value in query.items() if key not in NOTICES}


def query_string(params: dict[str, Any], **changes: Any) -> str:
    """``?a=1&page=2`` with ``changes`` applied; empty values are left out."""
    merged = {**params, **changes}
    kept = {k: v for k, v in merged.items() if v not in (None, "", False)}
    return "?" + urlencode(kept) if kept else ""
