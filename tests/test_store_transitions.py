"""``states.TRANSITIONS`` against the store: every move it names is made by the
operation it names, and no operation moves a job from a state it does not list."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta

import pytest

from jobmill import outcomes
from jobmill.clock import utcnow
from jobmill.errors import JobStateError
from jobmill.ids import new_job_id
from jobmill.outcomes import Lock, Outcome
from jobmill.states import INSERTS, TRANSITIONS, JobStatus
from jobmill.store import NewJobs, Store

Move = tuple[JobStatus, JobStatus, str]


def new_job(**fields: object) -> NewJobs:
    values: dict[str, object] = {
        "ids": (new_job_id(),),
        "job_name": "TransitionJob",
        "queue": "default",
        "priority": 0,
        "params": ("{}",),
        "max_attempts": 3,
        "timeout": None,
    }
    values.update(fields)
    return NewJobs(**values)  # type: ignore[arg-type]


class Moves:
    """Drives store operations and records each (before, after, operation) seen."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.seen: set[Move] = set()

    def status(self, job_id: str) -> JobStatus:
        return self.store.get_job(job_id).status

    def run(self, operation: str, action: Callable[[], object], *job_ids: str) -> None:
        before = {job_id: self.status(job_id) for job_id in job_ids}
        action()
        for job_id in job_ids:
            after = self.status(job_id)
            if after != before[job_id]:
                self.seen.add((before[job_id], after, operation))

    def pending(self, **fields: object) -> str:
        [job_id] = self.store.enqueue([new_job(**fields)])
        return job_id

    def running(self, lock_timeout: float = 30, **fields: object) -> Lock:
        job_id = self.pending(**fields)
        claimed = self.store.claim_job(job_id, "w", lock_timeout)
        assert claimed is not None
        return Lock.of(claimed)

    def ended(self, outcome: Outcome) -> str:
        lock = self.running()
        assert self.store.record_outcome(lock, outcome)
        return lock.job_id


def expected_moves() -> set[Move]:
    return {(src, dst, op) for (src, dst), ops in TRANSITIONS.items() for op in ops}


def test_every_transition_is_made_by_the_operations_named_for_it(configured: Store) -> None:
    moves, store = Moves(configured), configured

    job_id = moves.pending()
    moves.run("claim_jobs", lambda: store.claim_jobs("w", 1, 30), job_id)
    job_id = moves.pending()
    moves.run("claim_job", lambda: store.claim_job(job_id, "w", 30), job_id)
    job_id = moves.pending()
    moves.run("cancel_job", lambda: store.cancel_job(job_id, "test"), job_id)

    for outcome in (
        outcomes.completed(1),
        outcomes.after_error(None, RuntimeError("x"), 1, 3, utcnow()),
        Outcome(JobStatus.PENDING, error="again", retry_at=utcnow()),
        outcomes.cancelled_on_request(),
    ):
        lock = moves.running()
        ended = [(lock, outcome)]
        moves.run("record_outcomes", lambda ended=ended: store.record_outcomes(ended), lock.job_id)

    later = utcnow() + timedelta(seconds=5)
    retryable, exhausted, asked = (
        moves.running(lock_timeout=1),
        moves.running(lock_timeout=1, max_attempts=1),
        moves.running(lock_timeout=1),
    )
    store.cancel_job(asked.job_id, "test")
    rescued = (retryable.job_id, exhausted.job_id, asked.job_id)
    moves.run("rescue_expired", lambda: store.rescue_expired(now=later), *rescued)

    kept, asked = moves.running(), moves.running()
    store.cancel_job(asked.job_id, "test")
    moves.run("release", lambda: store.release(kept), kept.job_id)
    moves.run("release", lambda: store.release(asked), asked.job_id)

    failed = moves.ended(Outcome(JobStatus.FAILED, error="x"))
    moves.run("discard_job", lambda: store.discard_job(failed, "test"), failed)
    moves.run("retry_job", lambda: store.retry_job(failed, 1, "test"), failed)
    failed = moves.ended(Outcome(JobStatus.FAILED, error="x"))
    moves.run("retry_job", lambda: store.retry_job(failed, 1, "test"), failed)

    parent = moves.running()
    child = moves.pending(depends_on=(parent.job_id,))
    failing = Outcome(JobStatus.FAILED, error="x")
    moves.run("cancel_dependents", lambda: store.record_outcome(parent, failing), child)
    moves.run("revive_dependents", lambda: store.retry_job(parent.job_id, 1, "test"), child)

    assert moves.seen == expected_moves()


def test_new_rows_start_in_the_states_inserts_names(configured: Store) -> None:
    started = configured.start_job(new_job(), "now:host:1", 30)
    skipped = configured.skip_job(new_job(), "not started")
    [pending_id] = configured.enqueue([new_job()])

    seen = {
        (JobStatus.RUNNING, "start_job"): started.status,
        (JobStatus.CANCELLED, "skip_job"): skipped.status,
        (JobStatus.PENDING, "enqueue"): configured.get_job(pending_id).status,
    }
    assert {key for key, status in seen.items() if key[0] is status} == {
        (status, op) for status, ops in INSERTS.items() for op in ops
    }
    assert configured.get_job(started.id) == started
    assert (started.attempts, started.max_attempts, started.worker_id) == (1, 1, "now:host:1")
    assert (skipped.error, skipped.completed_at is not None) == ("not started", True)


def _in_state(moves: Moves, status: JobStatus) -> Lock:
    """A job in ``status``, with the lock its last attempt had (or would have)."""
    if status is JobStatus.PENDING:
        return Lock(moves.pending(), "w", 0)
    lock = moves.running()
    if status is JobStatus.CANCELLED:
        moves.store.cancel_job(lock.job_id, "test")
        moves.store.record_outcome(lock, outcomes.cancelled_on_request())
    elif status is not JobStatus.RUNNING:
        ending = Outcome(status, error=None if status is JobStatus.COMPLETED else "x")
        moves.store.record_outcome(lock, ending)
    return lock


GUARDED: dict[str, Callable[[Store, Lock], object]] = {
    "claim_job": lambda store, lock: store.claim_job(lock.job_id, "w2", 30),
    "cancel_job": lambda store, lock: store.cancel_job(lock.job_id, "test"),
    "record_outcomes": lambda store, lock: store.record_outcomes(
        [(lock, Outcome(JobStatus.FAILED, error="late"))]
    ),
    "release": lambda store, lock: store.release(lock),
    "discard_job": lambda store, lock: store.discard_job(lock.job_id, "test"),
    "retry_job": lambda store, lock: store.retry_job(lock.job_id, 1, "test"),
}


@pytest.mark.parametrize("operation", sorted(GUARDED))
def test_operations_leave_jobs_in_other_states_alone(configured: Store, operation: str) -> None:
    moves = Moves(configured)
    sources = {src for src, _, op in expected_moves() if op == operation}
    assert sources, f"{operation} is named in no transition"
    for status in set(JobStatus) - sources:
        lock = _in_state(moves, status)
        before = configured.get_job(lock.job_id)
        with contextlib.suppress(JobStateError):
            GUARDED[operation](configured, lock)
        after = configured.get_job(lock.job_id)
        assert (after.status, after.attempts) == (before.status, before.attempts), status
