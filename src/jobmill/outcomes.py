"""How an attempt's ending becomes the job's next state. Pure: ``now`` is a parameter."""

from __future__ import annotations

import math
import traceback
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from jobmill.codec import ResultNotSerializable
from jobmill.errors import InvalidParams, JobCancelled, UnknownJob
from jobmill.states import JobStatus
from jobmill.store.claims import Outcome, ProgressUpdate

if TYPE_CHECKING:
    from jobmill.job import Job

# Longer delays (or ones that overflow a datetime) are cut to this: ten years.
MAX_RETRY_DELAY = 10 * 365 * 86400.0

# Errors no retry can fix: the job itself or its input is wrong.
NEVER_RETRIED = (InvalidParams, ResultNotSerializable, UnknownJob)


def describe(exc: BaseException) -> str:
    text = _storable(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _storable(text: str) -> str:
    # PostgreSQL text cannot hold NUL characters.
    return text.replace("\x00", "\\x00")


def success(result: Any, progress: list[ProgressUpdate]) -> Outcome:
    return Outcome(JobStatus.COMPLETED, result=result, progress=tuple(progress))


def cancelled_on_request(progress: list[ProgressUpdate]) -> Outcome:
    """A job that returned after its cancellation was requested ends cancelled."""
    return Outcome(
        JobStatus.CANCELLED,
        error="cancelled: the job stopped at the cancellation request",
        progress=tuple(progress),
    )


def after_error(
    job: Job[Any, Any] | None,
    exc: BaseException,
    attempt: int,
    max_attempts: int,
    now: datetime,
    progress: list[ProgressUpdate],
    *,
    cancelled: bool = False,
    allow_retry: bool = True,
) -> Outcome:
    """The outcome of an attempt that raised ``exc``.

    Cancelled → cancelled; ``discard_on`` or a non-retryable error → failed;
    attempts left and ``retry_on`` matching → pending at ``now + backoff``.
    """
    error = describe(exc)
    trace = _storable("".join(traceback.format_exception(exc)))
    ended = tuple(progress)
    if cancelled or isinstance(exc, JobCancelled):
        return Outcome(JobStatus.CANCELLED, error=error, traceback=trace, progress=ended)
    if not allow_retry or job is None or not _retryable(job, exc) or attempt >= max_attempts:
        return Outcome(JobStatus.FAILED, error=error, traceback=trace, progress=ended)
    retry_at = now + timedelta(seconds=_retry_delay(job, attempt))
    return Outcome(
        JobStatus.PENDING, error=error, traceback=trace, retry_at=retry_at, progress=ended
    )


def _retry_delay(job: Job[Any, Any], attempt: int) -> float:
    # A broken ``backoff`` override must not keep the outcome from being
    # written (the job would stay running): fall back to the default curve.
    from jobmill.job import Job

    try:
        delay = float(job.backoff(attempt))
    except Exception:
        delay = Job.backoff(job, attempt)
    if not math.isfinite(delay):
        delay = Job.backoff(job, attempt)
    return min(max(0.0, delay), MAX_RETRY_DELAY)


def _retryable(job: Job[Any, Any], exc: BaseException) -> bool:
    if isinstance(exc, NEVER_RETRIED + job.discard_on):
        return False
    return isinstance(exc, job.retry_on)
