"""Dispatch options, declared once in ``Options``.

``J.set(**options)`` and ``Dispatch.set(**options)`` take exactly its keys
(typed through ``Unpack``, so a type checker checks every caller), and a
``Dispatch`` holds the checked values in one. Each key's ``Annotated`` metadata
is its check; adding an option is one line here and its use in ``Dispatch.build``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, TypedDict, cast, get_type_hints

from sqlalchemy import Connection

from jobmill.clock import as_seconds, as_utc, utcnow
from jobmill.storable import QUEUE_LENGTH, UNIQUE_KEY_LENGTH, check_integer, check_text


@dataclass(frozen=True)
class Check:
    """How one option is checked: ``validate(name, value)`` returns the value to keep
    (or raises, naming the option); ``accumulates`` options add to earlier ones."""

    validate: Callable[[str, Any], Any]
    accumulates: bool = False


def _non_empty(max_length: int) -> Callable[[str, Any], str]:
    def check(name: str, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name} must be a non-empty string, got {value!r}")
        return check_text(name, value, max_length)

    return check


def _at_least_one(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return check_integer(name, value)


def _positive(name: str, value: Any) -> float:
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return float(value)


def _delay(name: str, value: Any) -> float:
    seconds = as_seconds(value, name)
    try:
        utcnow() + timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(
            f"{name} must end before the year 10000, got {seconds:g} seconds"
        ) from None
    return seconds


def _job_ids(name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        raise TypeError(f"{name} must be a list of job ids, not a string")
    return tuple(check_text(name, job_id) for job_id in value)


class Options(TypedDict, total=False):
    """The options of ``J.set(...)``; left out or None, the job class's default holds.

    ``delay`` is seconds or a timedelta and ``run_at`` an aware datetime (both
    schedule the job); ``depends_on`` adds to ids given before; ``connection``
    enqueues in the caller's transaction.
    """

    queue: Annotated[str | None, Check(_non_empty(QUEUE_LENGTH))]
    priority: Annotated[int | None, Check(lambda name, value: check_integer(name, int(value)))]
    delay: Annotated[float | timedelta | None, Check(_delay)]
    run_at: Annotated[datetime | None, Check(lambda name, value: as_utc(value, name))]
    max_attempts: Annotated[int | None, Check(_at_least_one)]
    timeout: Annotated[float | None, Check(_positive)]
    unique_key: Annotated[str | None, Check(_non_empty(UNIQUE_KEY_LENGTH))]
    depends_on: Annotated[Sequence[str] | None, Check(_job_ids, accumulates=True)]
    connection: Annotated[Connection | None, Check(lambda _, value: value)]


CHECKS: dict[str, Check] = {
    name: hint.__metadata__[0]
    for name, hint in get_type_hints(Options, include_extras=True).items()
}


def merge_options(current: Options, changes: Mapping[str, Any]) -> Options:
    """``current`` with ``changes`` checked and applied (None changes nothing)."""
    unknown = sorted(set(changes) - CHECKS.keys())
    if unknown:
        raise TypeError(f"unknown option {', '.join(unknown)}; expected one of {', '.join(CHECKS)}")
    merged: dict[str, Any] = dict(current)
    for name, value in changes.items():
        if value is None:
            continue
        check = CHECKS[name]
        checked = check.validate(name, value)
        merged[name] = (*merged.get(name, ()), *checked) if check.accumulates else checked
    return cast(Options, merged)
