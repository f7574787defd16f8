"""Recording about running jobs: many outcomes in one transaction, each under its
own lock — on SQLite and PostgreSQL."""

from __future__ import annotations

from jobmill import outcomes
from jobmill.events import EventKind
from jobmill.ids import new_job_id
from jobmill.outcomes import Lock, Outcome
from jobmill.states import JobStatus
from jobmill.store import NewJob, Store


def new_job(**fields: object) -> NewJob:
    values: dict[str, object] = {
        "id": new_job_id(),
        "job_name": "RecordJob",
        "queue": "default",
        "priority": 0,
        "params": {},
        "max_attempts": 3,
        "timeout": None,
    }
    values.update(fields)
    return NewJob(**values)  # type: ignore[arg-type]


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
