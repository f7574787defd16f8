"""Dependents taken down by a dead job are found by ``jobs.cancelled_by``, not by
the wording of their error; migration 0005 fills it in for older rows."""

from __future__ import annotations

from sqlalchemy import create_engine, insert, select, update

from jobmill.clock import utcnow
from jobmill.ids import new_job_id
from jobmill.outcomes import Lock, Outcome
from jobmill.states import JobStatus
from jobmill.store import NewJobs, Store
from jobmill.store.engine import upgrade
from jobmill.store.schema import job_dependencies, jobs


def new_job(**fields: object) -> NewJobs:
    values: dict[str, object] = {
        "ids": (new_job_id(),),
        "job_name": "CascadeJob",
        "queue": "default",
        "priority": 0,
        "params": ("{}",),
        "max_attempts": 1,
        "timeout": None,
    }
    values.update(fields)
    return NewJobs(**values)  # type: ignore[arg-type]


def _fail(store: Store, job_id: str) -> None:
    claimed = store.claim_job(job_id, "w", 30)
    assert claimed is not None
    assert store.record_outcome(Lock.of(claimed), Outcome(JobStatus.FAILED, error="x"))


def _cancelled_by(store: Store, job_id: str) -> str | None:
    with store.engine.connect() as conn:
        value = conn.execute(select(jobs.c.cancelled_by).where(jobs.c.id == job_id)).scalar()
    return None if value is None else str(value)


def test_a_retry_revives_the_jobs_its_job_cancelled_whatever_their_error_says(
    configured: Store,
) -> None:
    parent = new_job()
    child = new_job(depends_on=(parent.id,))
    grandchild = new_job(depends_on=(child.id,))
    configured.enqueue([parent, child, grandchild])
    _fail(configured, parent.id)
    assert _cancelled_by(configured, child.id) == parent.id
    assert _cancelled_by(configured, grandchild.id) == child.id
    with configured.engine.begin() as conn:  # as if the message had been reworded
        conn.execute(update(jobs).where(jobs.c.id == child.id).values(error="upstream gone"))

    configured.retry_job(parent.id, 1, "test")

    for job_id in (child.id, grandchild.id):
        revived = configured.get_job(job_id)
        assert (revived.status, revived.error) == (JobStatus.PENDING, None)
        assert _cancelled_by(configured, job_id) is None


def test_a_job_cancelled_otherwise_stays_cancelled_when_a_dependency_is_retried(
    configured: Store,
) -> None:
    parent = new_job()
    child = new_job(depends_on=(parent.id,))
    configured.enqueue([parent, child])
    configured.cancel_job(child.id, "operator")
    with configured.engine.begin() as conn:  # its error reads like a cascade's
        reason = f"dependency {parent.id} ended failed"
        conn.execute(update(jobs).where(jobs.c.id == child.id).values(error=reason))
    _fail(configured, parent.id)

    configured.retry_job(parent.id, 1, "test")

    assert configured.get_job(child.id).status is JobStatus.CANCELLED


def test_migration_0005_finds_dependents_cancelled_before_it(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        upgrade(engine, "0004")
        now = utcnow()
        parent, child, stranger = new_job_id(), new_job_id(), new_job_id()
        common = {"job_name": "Old", "queue": "default", "run_at": now, "enqueued_at": now}
        rows = [
            {"id": parent, "status": "failed", "error": "boom"},
            {"id": child, "status": "cancelled", "error": f"dependency {parent} ended failed"},
            {"id": stranger, "status": "cancelled", "error": f"dependency {parent} ended failed"},
        ]
        with engine.begin() as conn:
            conn.execute(insert(jobs), [{**common, **row, "updated_at": now} for row in rows])
            conn.execute(insert(job_dependencies), [{"job_id": child, "depends_on_id": parent}])

        upgrade(engine)

        with engine.connect() as conn:
            found = dict(conn.execute(select(jobs.c.id, jobs.c.cancelled_by)).all())
        assert found == {parent: None, child: parent, stranger: None}
    finally:
        engine.dispose()
