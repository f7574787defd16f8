"""How an attempt ends: the values the store applies, and one constructor per ending.

Pure: no I/O, ``now`` is a parameter. The store only applies an ``Outcome``
under its ``Lock``; every decision (retry or not, when, which events) is made
here, so a writer that records many outcomes at once needs nothing else.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from jobmill.codec import ResultNotSerializable
from jobmill.error_text import error_message, error_traceback
from jobmill.errors import InvalidParams, JobCancelled, UnknownJob
from jobmill.events import EventKind
from jobmill.records import JobMetadata
from jobmill.states import JobStatus

# The default retry curve: 1 s, 2 s, 4 s, ... up to an hour, with jitter.
BACKOFF_BASE = 1.0
BACKOFF_CAP = 3600.0

# Longer delays (or ones that overflow a datetime) are cut to this: ten years.
MAX_RETRY_DELAY = 10 * 365 * 86400.0

# Errors no retry can fix: the job itself or its input is wrong.
NEVER_RETRIED = (InvalidParams, ResultNotSerializable, UnknownJob)

ABANDONED_AT_START = "cancelled: the caller stopped waiting before the job started"
CANCELLED_ON_REQUEST = "cancelled: the job stopped at the cancellation request"
CANCELLED_AT_SHUTDOWN = "cancelled: the worker shut down before the job stopped"
RELEASED_AT_SHUTDOWN = "worker shut down before the job finished"


@dataclass(frozen=True, slots=True)
class Lock:
    """What fences a running job: its id, the worker holding it, the attempt."""

    job_id: str
    worker_id: str
    attempt: int

    @classmethod
    def of(cls, record: JobMetadata) -> Lock:
        assert record.worker_id is not None
        return cls(record.id, record.worker_id, record.attempts)


@dataclass(frozen=True, slots=True)
class ProgressUpdate:
    """One ``update_progress`` call, as reported."""

    percent: float
    message: str | None
    at: datetime


class Requirement(StrEnum):
    """A condition on the row besides the lock, checked in the same UPDATE."""

    LOCK_EXPIRED = "lock_expired"  # rescue: only a lock nobody extended meanwhile
    CANCEL_REQUESTED = "cancel_requested"  # shutdown: only a job asked to stop


# The events an ending writes when it does not say: a completed attempt is on
# its row; any other writes its start and its end, as the row keeps only the last.
_TRAILS = {
    JobStatus.COMPLETED: (),
    JobStatus.PENDING: (EventKind.STARTED, EventKind.ATTEMPT_FAILED),
    JobStatus.FAILED: (EventKind.STARTED, EventKind.FAILED),
    JobStatus.CANCELLED: (EventKind.STARTED, EventKind.CANCELLED),
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an attempt ended: the job's next ``status`` and what to record.

    ``status`` pending means "run again at ``retry_at``". ``trail`` is the
    events written (``started`` at the attempt's start, the others now, with
    ``error``, ``traceback`` and ``note``); empty, it follows from ``status``.
    ``gives_back_attempt``: the attempt does not count (its start is forgotten,
    the attempt number goes back). ``requires`` adds a condition to the lock.
    """

    status: JobStatus
    result: Any = None
    error: str | None = None
    traceback: str | None = None
    retry_at: datetime | None = None
    progress: tuple[ProgressUpdate, ...] = ()
    trail: tuple[EventKind, ...] = ()
    note: str | None = None
    requires: Requirement | None = None
    gives_back_attempt: bool = False

    def __post_init__(self) -> None:
        if not self.trail:
            object.__setattr__(self, "trail", _TRAILS[self.status])


_COMPLETED_EMPTY = Outcome(JobStatus.COMPLETED)


class RetryPolicy(Protocol):
    """What ``after_error`` reads of a job: ``Job`` instances are one."""

    @property
    def retry_on(self) -> tuple[type[BaseException], ...]: ...

    @property
    def discard_on(self) -> tuple[type[BaseException], ...]: ...

    def backoff(self, attempt: int) -> float: ...


def default_backoff(attempt: int) -> float:
    """Seconds before retrying after failed ``attempt`` (1-based): exponential
    from ``BACKOFF_BASE`` up to ``BACKOFF_CAP``, with ±25 % jitter so that jobs
    failing together do not retry together."""
    # The exponent is capped: 2.0 ** 1024 overflows, and the cap is long reached.
    delay = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** min(max(attempt - 1, 0), 64))
    return delay * random.uniform(0.75, 1.25)


def describe(exc: BaseException) -> str:
    """``Type: message`` for an error, storable as text (a database error's
    message without its SQL, parameters or DETAIL)."""
    text = _storable(error_message(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _storable(text: str) -> str:
    # PostgreSQL text cannot hold NUL characters.
    return text.replace("\x00", "\\x00")


# Each way an attempt ends ------------------------------------------------


def completed(result: Any, progress: Sequence[ProgressUpdate] = ()) -> Outcome:
    """``perform`` returned ``result`` (its JSON form)."""
    if result is None and not progress:
        return _COMPLETED_EMPTY  # the usual ending, made once (outcomes are immutable)
    return Outcome(JobStatus.COMPLETED, result=result, progress=tuple(progress))


def cancelled_on_request(progress: Sequence[ProgressUpdate] = ()) -> Outcome:
    """A job that returned after its cancellation was requested ends cancelled."""
    return Outcome(JobStatus.CANCELLED, error=CANCELLED_ON_REQUEST, progress=tuple(progress))


def after_error(
    job: RetryPolicy | None,
    exc: BaseException,
    attempt: int,
    max_attempts: int,
    now: datetime,
    progress: Sequence[ProgressUpdate] = (),
    *,
    cancelled: bool = False,
    allow_retry: bool = True,
) -> Outcome:
    """The outcome of an attempt that raised ``exc``.

    Cancelled → cancelled; ``discard_on`` or a non-retryable error → failed;
    attempts left and ``retry_on`` matching → pending at ``now + backoff``.
    """
    error = describe(exc)
    trace = _storable(error_traceback(exc))
    ended = tuple(progress)
    if cancelled or isinstance(exc, JobCancelled):
        return Outcome(JobStatus.CANCELLED, error=error, traceback=trace, progress=ended)
    if not allow_retry or job is None or not _retryable(job, exc) or attempt >= max_attempts:
        return Outcome(JobStatus.FAILED, error=error, traceback=trace, progress=ended)
    retry_at = now + timedelta(seconds=_retry_delay(job, attempt))
    return Outcome(
        JobStatus.PENDING, error=error, traceback=trace, retry_at=retry_at, progress=ended
    )


def refused_by_database(exc: BaseException) -> Outcome:
    """The database refused the attempt's own outcome (a NUL character, a value
    too large): the job fails saying so, instead of staying running to be run
    again and again."""
    error = f"its outcome could not be stored: {describe(exc)}"
    return Outcome(JobStatus.FAILED, error=error[:2000])


def unknown_job(exc: UnknownJob) -> Outcome:
    """A claimed job whose name no class here is registered under."""
    return Outcome(JobStatus.FAILED, error=str(exc))


def abandoned_at_start() -> Outcome:
    """An async caller of ``now`` stopped waiting while the job's row was stored."""
    return Outcome(JobStatus.CANCELLED, error=ABANDONED_AT_START)


def cancelled_at_shutdown() -> Outcome:
    """A worker shutting down ends a job asked to stop cancelled: run again, it
    would only be cancelled at its next heartbeat."""
    return Outcome(
        JobStatus.CANCELLED,
        error=CANCELLED_AT_SHUTDOWN,
        trail=(EventKind.CANCELLED,),
        requires=Requirement.CANCEL_REQUESTED,
    )


def released_at_shutdown(now: datetime) -> Outcome:
    """A worker shutting down gives the job back to pending, the attempt unused."""
    return Outcome(
        JobStatus.PENDING,
        retry_at=now,
        trail=(EventKind.RELEASED,),
        note=RELEASED_AT_SHUTDOWN,
        gives_back_attempt=True,
    )


def lock_expired(record: JobMetadata, now: datetime) -> Outcome:
    """A running job whose worker stopped heartbeating: pending again, or failed
    when out of attempts (so a job that kills its worker cannot loop forever),
    or cancelled when its cancellation was requested."""
    error = f"lock expired: worker {record.worker_id} stopped heartbeating"
    if record.cancel_requested:
        status, error, retry_at = JobStatus.CANCELLED, error + "; cancellation was requested", None
    elif record.attempts >= record.max_attempts:
        status, error, retry_at = JobStatus.FAILED, error + "; no attempts left", None
    else:
        status, retry_at = JobStatus.PENDING, now
    trail: tuple[EventKind, ...] = (EventKind.STARTED, EventKind.LOCK_EXPIRED)
    if status is not JobStatus.PENDING:
        trail += (EventKind(status.value),)
    return Outcome(
        status, error=error, retry_at=retry_at, trail=trail, requires=Requirement.LOCK_EXPIRED
    )


# Retry decisions -----------------------------------------------------------


def _retry_delay(job: RetryPolicy, attempt: int) -> float:
    # A broken ``backoff`` override must not keep the outcome from being
    # written (the job would stay running): fall back to the default curve.
    try:
        delay = float(job.backoff(attempt))
    except Exception:
        delay = default_backoff(attempt)
    if not math.isfinite(delay):
        delay = default_backoff(attempt)
    return min(max(0.0, delay), MAX_RETRY_DELAY)


def _retryable(job: RetryPolicy, exc: BaseException) -> bool:
    if isinstance(exc, NEVER_RETRIED + job.discard_on):
        return False
    return isinstance(exc, job.retry_on)
