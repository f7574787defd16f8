"""``jobmill.outcomes``: the values the store applies and each way an attempt ends (pure)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from jobmill import outcomes
from jobmill.errors import JobCancelled, UnknownJob
from jobmill.events import EventKind
from jobmill.outcomes import Lock, Outcome, ProgressUpdate, Requirement
from jobmill.records import JobMetadata
from jobmill.states import JobStatus

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def running(**fields: object) -> JobMetadata:
    values: dict[str, object] = {
        "id": "j1",
        "job_name": "J",
        "queue": "default",
        "status": JobStatus.RUNNING,
        "priority": 0,
        "attempts": 1,
        "max_attempts": 3,
        "enqueued_at": NOW,
        "run_at": NOW,
        "worker_id": "w1",
    }
    values.update(fields)
    return JobMetadata.model_validate(values)


@pytest.mark.parametrize(
    "value", [Lock("j", "w", 1), ProgressUpdate(1, None, NOW), Outcome(JobStatus.COMPLETED)]
)
def test_values_are_frozen_and_slotted(value: object) -> None:
    assert not hasattr(value, "__dict__")
    field = dataclasses.fields(value)[0].name  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, field, None)


def test_lock_of_a_running_record_is_its_worker_and_attempt() -> None:
    assert Lock.of(running(attempts=4)) == Lock("j1", "w1", 4)


@pytest.mark.parametrize(
    ("status", "trail"),
    [
        (JobStatus.COMPLETED, ()),
        (JobStatus.PENDING, (EventKind.STARTED, EventKind.ATTEMPT_FAILED)),
        (JobStatus.FAILED, (EventKind.STARTED, EventKind.FAILED)),
        (JobStatus.CANCELLED, (EventKind.STARTED, EventKind.CANCELLED)),
    ],
)
def test_an_outcome_that_names_no_trail_gets_its_status_trail(
    status: JobStatus, trail: tuple[EventKind, ...]
) -> None:
    assert Outcome(status).trail == trail


def test_named_endings() -> None:
    update = ProgressUpdate(50, "half", NOW)
    assert outcomes.completed({"n": 1}, [update]) == Outcome(
        JobStatus.COMPLETED, result={"n": 1}, progress=(update,)
    )
    assert outcomes.cancelled_on_request([update]) == Outcome(
        JobStatus.CANCELLED, error=outcomes.CANCELLED_ON_REQUEST, progress=(update,)
    )
    assert outcomes.abandoned_at_start().error == outcomes.ABANDONED_AT_START
    refused = outcomes.refused_by_database(ValueError("x" * 5000))
    assert refused.status is JobStatus.FAILED and len(refused.error or "") == 2000
    assert (refused.error or "").startswith("its outcome could not be stored: ValueError: x")
    unknown = outcomes.unknown_job(UnknownJob("Gone", ["Here"]))
    assert (unknown.status, unknown.error, unknown.trail) == (
        JobStatus.FAILED,
        "unknown job 'Gone'; registered jobs: Here (is the module that defines it in `imports`?)",
        (EventKind.STARTED, EventKind.FAILED),
    )


def test_shutdown_endings() -> None:
    cancelled = outcomes.cancelled_at_shutdown()
    assert (cancelled.status, cancelled.error, cancelled.trail, cancelled.requires) == (
        JobStatus.CANCELLED,
        outcomes.CANCELLED_AT_SHUTDOWN,
        (EventKind.CANCELLED,),
        Requirement.CANCEL_REQUESTED,
    )
    released = outcomes.released_at_shutdown(NOW)
    assert (released.status, released.retry_at, released.gives_back_attempt) == (
        JobStatus.PENDING,
        NOW,
        True,
    )
    assert (released.trail, released.note) == ((EventKind.RELEASED,), outcomes.RELEASED_AT_SHUTDOWN)
    assert released.error is None


@pytest.mark.parametrize(
    ("record", "status", "trail_end", "why"),
    [
        (running(), JobStatus.PENDING, (), ""),
        (running(attempts=3), JobStatus.FAILED, (EventKind.FAILED,), "; no attempts left"),
        (
            running(cancel_requested=True),
            JobStatus.CANCELLED,
            (EventKind.CANCELLED,),
            "; cancellation was requested",
        ),
    ],
)
def test_lock_expired(
    record: JobMetadata, status: JobStatus, trail_end: tuple[EventKind, ...], why: str
) -> None:
    outcome = outcomes.lock_expired(record, NOW)
    assert outcome.status is status
    assert outcome.trail == (EventKind.STARTED, EventKind.LOCK_EXPIRED, *trail_end)
    assert outcome.requires is Requirement.LOCK_EXPIRED
    assert outcome.error == "lock expired: worker w1 stopped heartbeating" + why
    assert outcome.retry_at == (NOW if status is JobStatus.PENDING else None)


def test_after_error_without_a_job_class_fails_at_once() -> None:
    outcome = outcomes.after_error(None, RuntimeError("x"), 1, 3, NOW)
    assert (outcome.status, outcome.error) == (JobStatus.FAILED, "RuntimeError: x")
    assert "RuntimeError: x" in (outcome.traceback or "")


@dataclasses.dataclass(frozen=True)
class Policy:
    """A job's retry options, as ``after_error`` reads them."""

    retry_on: tuple[type[BaseException], ...] = (Exception,)
    discard_on: tuple[type[BaseException], ...] = (KeyError,)

    def backoff(self, attempt: int) -> float:
        return 10.0 * attempt


def raised(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:
        return caught


def test_after_error_retries_a_retryable_error_after_the_jobs_backoff() -> None:
    update = ProgressUpdate(50, "half", NOW)
    outcome = outcomes.after_error(Policy(), raised(RuntimeError("x")), 2, 3, NOW, [update])

    assert (outcome.status, outcome.error, outcome.retry_at, outcome.progress) == (
        JobStatus.PENDING,
        "RuntimeError: x",
        NOW + timedelta(seconds=20),
        (update,),
    )
    assert "raise exc" in (outcome.traceback or "")


@pytest.mark.parametrize(
    ("exc", "attempt", "options"),
    [
        (RuntimeError("x"), 3, {}),  # the last attempt
        (KeyError("x"), 1, {}),  # discard_on
        (UnknownJob("Gone"), 1, {}),  # no retry can fix it
        (RuntimeError("x"), 1, {"allow_retry": False}),
    ],
    ids=["last-attempt", "discard-on", "never-retried", "retry-not-allowed"],
)
def test_after_error_fails_an_error_it_does_not_retry(
    exc: BaseException, attempt: int, options: dict[str, bool]
) -> None:
    update = ProgressUpdate(50, "half", NOW)
    outcome = outcomes.after_error(Policy(), raised(exc), attempt, 3, NOW, [update], **options)

    assert (outcome.status, outcome.retry_at, outcome.progress) == (
        JobStatus.FAILED,
        None,
        (update,),
    )
    assert outcome.error == outcomes.describe(exc)
    assert "raise exc" in (outcome.traceback or "")


def test_after_error_retries_only_what_retry_on_names() -> None:
    policy = Policy(retry_on=(ValueError,))
    assert outcomes.after_error(policy, ValueError("x"), 1, 3, NOW).status is JobStatus.PENDING
    assert outcomes.after_error(policy, RuntimeError("x"), 1, 3, NOW).status is JobStatus.FAILED


@pytest.mark.parametrize(
    ("exc", "cancelled"), [(RuntimeError("x"), True), (JobCancelled("stop"), False)]
)
def test_after_error_ends_a_cancelled_attempt_cancelled(
    exc: BaseException, cancelled: bool
) -> None:
    update = ProgressUpdate(50, "half", NOW)
    outcome = outcomes.after_error(Policy(), raised(exc), 1, 3, NOW, [update], cancelled=cancelled)

    assert (outcome.status, outcome.error, outcome.progress) == (
        JobStatus.CANCELLED,
        outcomes.describe(exc),
        (update,),
    )
    assert "raise exc" in (outcome.traceback or "")


@pytest.mark.parametrize("attempt", [1, 2, 5, 12, 1000])
def test_default_backoff_doubles_up_to_its_cap_with_jitter(attempt: int) -> None:
    expected = min(outcomes.BACKOFF_CAP, outcomes.BACKOFF_BASE * 2 ** (attempt - 1))
    for _ in range(20):
        assert expected * 0.75 <= outcomes.default_backoff(attempt) <= expected * 1.25
    assert timedelta(seconds=outcomes.default_backoff(attempt)) < timedelta(hours=2)


@pytest.mark.parametrize(
    ("delay", "expected"),
    [(-5.0, 0.0), (0.25, 0.25), (float("nan"), None), (1e12, outcomes.MAX_RETRY_DELAY)],
    ids=["negative-runs-at-once", "as-given", "not-finite-default", "capped"],
)
def test_a_jobs_backoff_is_kept_within_bounds(delay: float, expected: float | None) -> None:
    class Backoff(Policy):
        def backoff(self, attempt: int) -> float:
            return delay

    outcome = outcomes.after_error(Backoff(), raised(RuntimeError("x")), 1, 3, NOW)

    assert outcome.retry_at is not None
    waited = (outcome.retry_at - NOW).total_seconds()
    if expected is None:  # the default curve: BACKOFF_BASE ± 25 % for a first retry
        assert 0.75 * outcomes.BACKOFF_BASE <= waited <= 1.25 * outcomes.BACKOFF_BASE
    else:
        assert waited == expected
