"""Recording many outcomes in one transaction (the worker's pump): completions in
one statement, each row still fenced by its own lock — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from jobmill import outcomes
from jobmill.clock import utcnow
from jobmill.events import EventKind
from jobmill.outcomes import Lock, Outcome, ProgressUpdate, Requirement
from jobmill.states import JobStatus
from jobmill.store import Store
from jobmill.store.record import apply_outcomes
from jobmill.store.rounds import fits_one_statement
from test_store_claims import new_job

RESULTS: list[Any] = [None, 0, 7, "text é ✓", [1, "two", None], {"nested": {"a": [True, 1.5]}}]


def claim(store: Store, count: int, worker: str = "w1") -> list[Lock]:
    store.enqueue([new_job() for _ in range(count)])
    return [Lock.of(record) for record in store.claim_jobs(worker, count, 30)]


def write(store: Store, ended: list[tuple[Lock, Outcome]]) -> list[bool]:
    with store.write() as conn:
        return apply_outcomes(conn, store.dialect, ended, utcnow())


@pytest.mark.parametrize("result", RESULTS, ids=lambda result: type(result).__name__)
def test_completions_store_each_result_as_given(configured: Store, result: Any) -> None:
    [lock] = claim(configured, 1)

    assert write(configured, [(lock, outcomes.completed(result))]) == [True]

    record = configured.get_job(lock.job_id)
    assert (record.status, record.result, record.progress) == (JobStatus.COMPLETED, result, 100)
    assert (record.error, record.locked_until) == (None, None)
    assert record.completed_at is not None


def test_a_batch_writes_only_outcomes_whose_lock_is_still_held(configured: Store) -> None:
    held, taken, cancelled_one = claim(configured, 3)
    stale = Lock(taken.job_id, "someone-else", taken.attempt)
    old_attempt = Lock(cancelled_one.job_id, cancelled_one.worker_id, cancelled_one.attempt - 1)
    update = ProgressUpdate(50, "half", utcnow())

    written = write(
        configured,
        [
            (held, outcomes.completed(1)),
            (stale, outcomes.completed(2, [update])),
            (old_attempt, outcomes.completed(3)),
            (cancelled_one, outcomes.cancelled_on_request()),
        ],
    )

    assert written == [True, False, False, True]
    statuses = [configured.get_job(lock.job_id).status for lock in (held, taken, cancelled_one)]
    assert statuses == [JobStatus.COMPLETED, JobStatus.RUNNING, JobStatus.CANCELLED]
    assert configured.get_job(taken.job_id).result is None
    assert "progress" not in [event.kind for event in configured.stored_events(taken.job_id)]


def test_a_stale_and_the_current_attempt_of_one_job_in_one_batch(configured: Store) -> None:
    [lock] = claim(configured, 1)
    earlier = Lock(lock.job_id, lock.worker_id, lock.attempt - 1)

    written = write(
        configured, [(earlier, outcomes.completed("old")), (lock, outcomes.completed("new"))]
    )

    assert written == [False, True]
    assert configured.get_job(lock.job_id).result == "new"


def test_completions_keep_their_last_progress_message_and_every_update(configured: Store) -> None:
    with_message, without_updates = claim(configured, 2)
    now = utcnow()
    updates = [ProgressUpdate(30, "loading", now), ProgressUpdate(80, None, now)]

    write(
        configured,
        [
            (with_message, outcomes.completed(None, updates)),
            (without_updates, outcomes.completed(None)),
        ],
    )

    # The last update had no message: the row says so, as one write per update would.
    assert configured.get_job(with_message.job_id).progress_message is None
    progress = [
        (event.progress, event.message)
        for event in configured.stored_events(with_message.job_id)
        if event.kind is EventKind.PROGRESS
    ]
    assert progress == [(30, "loading"), (80, None)]
    assert not [
        event
        for event in configured.stored_events(without_updates.job_id)
        if event.kind is EventKind.PROGRESS
    ]


def test_failures_and_retries_in_a_batch_write_their_trail(configured: Store) -> None:
    done, retried, failed = claim(configured, 3)
    now = utcnow()
    retry = outcomes.after_error(None, RuntimeError("again"), 1, 3, now, allow_retry=False)

    write(
        configured,
        [
            (done, outcomes.completed("ok")),
            (retried, Outcome(JobStatus.PENDING, error="RuntimeError: again", retry_at=now)),
            (failed, retry),
        ],
    )

    assert configured.get_job(done.job_id).status is JobStatus.COMPLETED
    assert configured.get_job(retried.job_id).status is JobStatus.PENDING
    assert configured.get_job(failed.job_id).status is JobStatus.FAILED
    kinds = [event.kind for event in configured.stored_events(retried.job_id)]
    assert EventKind.ATTEMPT_FAILED in kinds


def test_a_retry_waits_for_its_retry_time_keeping_the_attempts_progress(
    configured: Store,
) -> None:
    [lock] = claim(configured, 1)
    now = utcnow()
    updates = (ProgressUpdate(20, "started", now), ProgressUpdate(40, "partway", now))
    later = now + timedelta(minutes=5)
    retry = Outcome(
        JobStatus.PENDING, error="E: x", traceback="Traceback: x", retry_at=later, progress=updates
    )

    assert write(configured, [(lock, retry)]) == [True]

    record = configured.get_job(lock.job_id)
    assert (record.status, record.run_at, record.worker_id) == (JobStatus.PENDING, later, None)
    assert (record.progress, record.progress_message, record.error) == (40, "partway", "E: x")
    assert record.error_traceback == "Traceback: x"
    assert configured.claim_jobs("w2", 1, 30, now=now + timedelta(minutes=1)) == []
    progress = [e for e in configured.stored_events(lock.job_id) if e.kind == "progress"]
    assert [(e.attempt, e.worker_id) for e in progress] == [(lock.attempt, lock.worker_id)] * 2


def test_a_failure_writes_its_trail_and_progress_under_its_attempt(configured: Store) -> None:
    [lock] = claim(configured, 1)
    update = ProgressUpdate(30, "some", utcnow())
    failed = Outcome(JobStatus.FAILED, error="E: x", traceback="Traceback: x", progress=(update,))

    assert write(configured, [(lock, failed)]) == [True]

    events = [(e.kind, e.attempt, e.worker_id) for e in configured.stored_events(lock.job_id)]
    assert events == [
        (kind, lock.attempt, lock.worker_id) for kind in ("progress", "started", "failed")
    ]
    [ended] = [e for e in configured.stored_events(lock.job_id) if e.kind == "failed"]
    assert (ended.error, ended.traceback) == ("E: x", "Traceback: x")


def test_only_plain_completions_fit_a_round_in_one_statement() -> None:
    update = ProgressUpdate(50, "half", utcnow())
    assert fits_one_statement(outcomes.completed(1))
    assert not fits_one_statement(outcomes.completed(1, [update]))
    assert not fits_one_statement(Outcome(JobStatus.COMPLETED, requires=Requirement.LOCK_EXPIRED))
    assert not fits_one_statement(Outcome(JobStatus.FAILED, error="boom"))
