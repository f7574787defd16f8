"""Recording about running jobs: every fenced write (progress, lock extension,
outcome, release) under its lock, and many outcomes in one transaction, each
under its own — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jobmill import outcomes
from jobmill.clock import utcnow
from jobmill.events import EventKind
from jobmill.ids import new_job_id
from jobmill.outcomes import Lock, Outcome, ProgressUpdate
from jobmill.states import JobStatus
from jobmill.store import NewJobs, Store


def new_job(**fields: object) -> NewJobs:
    values: dict[str, object] = {
        "ids": (new_job_id(),),
        "job_name": "RecordJob",
        "queue": "default",
        "priority": 0,
        "params": ("{}",),
        "max_attempts": 3,
        "timeout": None,
    }
    values.update(fields)
    return NewJobs(**values)  # type: ignore[arg-type]


def test_record_outcomes_fences_each_outcome_by_its_own_lock(configured: Store) -> None:
    parent = new_job()
    child = new_job(depends_on=(parent.id,))
    done, stale = new_job(), new_job()
    configured.enqueue([parent, child, done, stale])
    locks = {r.id: Lock.of(r) for r in configured.claim_jobs("w", 3, 30)}
    stale_lock = locks[stale.id]
    late = Lock(stale_lock.job_id, stale_lock.worker_id, stale_lock.attempt + 1)

    finals = configured.record_outcomes(
        [
            (locks[done.id], outcomes.completed({"ok": True})),
            (late, outcomes.completed("late")),
            (locks[parent.id], Outcome(JobStatus.FAILED, error="boom")),
        ]
    )

    assert [final.status if final else None for final in finals] == [
        JobStatus.COMPLETED,
        None,
        JobStatus.FAILED,
    ]
    assert configured.get_job(stale.id).status is JobStatus.RUNNING
    assert configured.get_job(child.id).status is JobStatus.CANCELLED
    kinds = [event.kind for event in configured.stored_events(parent.id)]
    assert kinds == [EventKind.STARTED, EventKind.FAILED]
    assert configured.stored_events(done.id) == []


FENCED = {
    "record_progress": lambda store, lock: store.record_progress(
        lock, [ProgressUpdate(40, "late", utcnow())]
    ),
    "extend_locks": lambda store, lock: store.extend_locks([lock], 600),
    "record_outcome": lambda store, lock: store.record_outcome(lock, outcomes.completed("late")),
    "release": lambda store, lock: store.release(lock),
}


@pytest.mark.parametrize("operation", sorted(FENCED))
def test_a_stale_worker_or_attempt_writes_nothing(configured: Store, operation: str) -> None:
    parent = new_job()
    configured.enqueue([parent, new_job(depends_on=(parent.id,))])
    [record] = configured.claim_jobs("w1", 1, 30)
    configured.cancel_job(record.id, "test")  # release would end it cancelled
    lock = Lock.of(record)
    before = configured.get_job(record.id)
    events = configured.stored_events(record.id)

    for stale in (
        Lock(lock.job_id, lock.worker_id, lock.attempt - 1),
        Lock(lock.job_id, lock.worker_id, lock.attempt + 1),
        Lock(lock.job_id, "w2", lock.attempt),
    ):
        assert not FENCED[operation](configured, stale)

    assert configured.get_job(record.id) == before
    assert configured.stored_events(record.id) == events
    assert [job.status for job in configured.list_jobs()] == [JobStatus.PENDING, JobStatus.RUNNING]
    assert FENCED[operation](configured, lock)  # the holder's own write goes through


@pytest.mark.parametrize("status", [JobStatus.FAILED, JobStatus.CANCELLED])
def test_an_ending_stores_when_it_ended_and_its_traceback(
    configured: Store, status: JobStatus
) -> None:
    configured.enqueue([new_job()])
    [record] = configured.claim_jobs("w1", 1, 30)
    assert record.started_at is not None
    ended_at = record.started_at + timedelta(seconds=7)
    outcome = Outcome(status, error="boom", traceback="Traceback: boom")

    final = configured.record_outcome(Lock.of(record), outcome, ended_at)

    assert final is not None
    stored = configured.get_job(record.id)
    assert (stored.status, stored.completed_at) == (status, ended_at)
    assert (stored.error, stored.error_traceback) == ("boom", "Traceback: boom")
    assert stored.duration == 7
    # The trail: the attempt's start at the row's start, its end at the end.
    [started, end] = configured.stored_events(record.id)
    assert (started.kind, started.at) == (EventKind.STARTED, record.started_at)
    assert (end.at, end.error, end.traceback) == (ended_at, "boom", "Traceback: boom")


@pytest.mark.parametrize("progress", [False, True])
def test_a_completion_after_a_failed_attempt_clears_its_error(
    configured: Store, progress: bool
) -> None:
    configured.enqueue([new_job()])
    [first] = configured.claim_jobs("w1", 1, 30)
    retry = Outcome(JobStatus.PENDING, error="boom", retry_at=utcnow() - timedelta(seconds=1))
    assert configured.record_outcome(Lock.of(first), retry) is not None
    assert configured.get_job(first.id).error == "boom"
    [second] = configured.claim_jobs("w1", 1, 30)
    # With progress the ending is written on its own, without it in a batch.
    updates = [ProgressUpdate(50, "half", utcnow())] if progress else []

    final = configured.record_outcome(Lock.of(second), outcomes.completed({"ok": 1}, updates))

    assert final is not None
    stored = configured.get_job(first.id)
    assert (stored.status, stored.result, stored.error) == (JobStatus.COMPLETED, {"ok": 1}, None)


def test_a_release_at_shutdown_says_why_in_its_event(configured: Store) -> None:
    configured.enqueue([new_job()])
    [record] = configured.claim_jobs("w1", 1, 30)

    assert configured.release(Lock.of(record))

    [released] = configured.stored_events(record.id)
    assert released.kind is EventKind.RELEASED
    assert released.message == outcomes.RELEASED_AT_SHUTDOWN
    assert configured.get_job(record.id).status is JobStatus.PENDING
