"""get, history, retry, cancel, chain and dependencies."""

from __future__ import annotations

import pytest

import jobmill
from foundation_jobs import DependentJob, FoundationFailingJob, SendEmailJob
from jobmill import AmbiguousJobId, JobNotFound, JobStateError, JobStatus
from jobmill.outcomes import Lock
from jobmill.store import Store
from jobmill.testing import drain, inline


def test_get_by_prefix_and_errors(configured: Store) -> None:
    job_id = SendEmailJob.later(to="a", subject="s")
    assert jobmill.get(job_id[:10]).id == job_id
    assert jobmill.get(job_id.upper()).id == job_id
    with pytest.raises(JobNotFound, match="no job with id or prefix 'zzzz'"):
        jobmill.get("zzzz")


def test_ambiguous_prefix_lists_candidates(configured: Store) -> None:
    ids = SendEmailJob.later_many([{"to": str(i), "subject": "s"} for i in range(3)])
    common = ids[0][:8]  # same millisecond prefix
    matching = [i for i in ids if i.startswith(common)]
    with pytest.raises(AmbiguousJobId) as caught:
        jobmill.get(common)
    assert caught.value.candidates == sorted(matching)
    assert len(matching) > 1


def test_history_of_failures_and_manual_retry(configured: Store) -> None:
    job_id = FoundationFailingJob.set(max_attempts=2).later(message="first")
    assert drain() == 1  # attempt 1 fails, retry is scheduled with backoff
    meta = jobmill.get(job_id)
    assert meta.status is JobStatus.PENDING and meta.attempts == 1

    configured.claim_jobs("t", 1, 30, now=meta.run_at)  # attempt 2 claimed at its time
    record = jobmill.get(job_id)
    from jobmill.runner import Runner

    Runner(configured).run(FoundationFailingJob, record)
    assert jobmill.get(job_id).status is JobStatus.FAILED

    retried = jobmill.retry(job_id, source="cli:tester@host")
    assert retried.status is JobStatus.PENDING
    assert retried.max_attempts == 2 + 2  # the job's own allowance, set(max_attempts=2)
    drain()
    kinds = [(e.kind, e.attempt) for e in jobmill.history(job_id)]
    assert kinds == [
        ("enqueued", 0),
        ("started", 1),
        ("attempt_failed", 1),
        ("started", 2),
        ("failed", 2),
        ("retried", 2),
        ("started", 3),
        ("attempt_failed", 3),
    ]
    retried_event = next(e for e in jobmill.history(job_id) if e.kind == "retried")
    assert retried_event.source == "cli:tester@host"
    errors = [e.error for e in jobmill.history(job_id) if e.error]
    assert errors == ["BoomError: first"] * 3


def test_history_kinds_are_event_kinds(configured: Store) -> None:
    job_id = SendEmailJob.later(to="a", subject="s")
    jobmill.cancel(job_id)
    kinds = [event.kind for event in jobmill.history(job_id)]
    assert kinds == [jobmill.EventKind.ENQUEUED, jobmill.EventKind.CANCELLED]
    assert all(isinstance(kind, jobmill.EventKind) for kind in kinds)
    assert kinds == ["enqueued", "cancelled"]  # a str enum: plain strings compare equal


def test_retry_and_cancel_guard_states(configured: Store) -> None:
    job_id = SendEmailJob.later(to="a", subject="s")
    with pytest.raises(JobStateError, match="only failed or cancelled jobs can be retried"):
        jobmill.retry(job_id)
    cancelled = jobmill.cancel(job_id)
    assert cancelled.status is JobStatus.CANCELLED
    with pytest.raises(JobStateError, match="only pending or running jobs can be cancelled"):
        jobmill.cancel(job_id)
    assert jobmill.retry(job_id).status is JobStatus.PENDING
    assert [e.kind for e in jobmill.history(job_id)] == ["enqueued", "cancelled", "retried"]


def test_cancel_running_job_sets_the_request(configured: Store) -> None:
    job_id = SendEmailJob.later(to="a", subject="s")
    [claimed] = configured.claim_jobs("worker-x", 1, 30)
    meta = jobmill.cancel(job_id)
    assert meta.status is JobStatus.RUNNING and meta.cancel_requested
    lock = Lock.of(claimed)
    assert configured.extend_locks([lock], 30) == {lock: True}


def test_chain_runs_in_order_and_passes_results(configured: Store) -> None:
    ids = jobmill.chain(
        SendEmailJob.step(to="a@example.com", subject="s"),
        DependentJob.step(),
    )
    assert configured.dependency_ids(ids[1]) == [ids[0]]
    assert not configured.has_ready_jobs(job_names=["DependentJob"])
    assert drain() == 2
    assert jobmill.get(ids[1]).result == {ids[0]: {"message_id": "msg-a@example.com"}}


def test_failed_link_cancels_dependents_transitively(configured: Store) -> None:
    first, second, third = jobmill.chain(
        FoundationFailingJob.step(message="broken link"),
        SendEmailJob.step(to="b", subject="s"),
        SendEmailJob.step(to="c", subject="s"),
    )
    drain()
    assert jobmill.get(first).status is JobStatus.FAILED
    for dependent in (second, third):
        meta = jobmill.get(dependent)
        assert meta.status is JobStatus.CANCELLED
        assert "ended failed" in (meta.error or "") or "ended cancelled" in (meta.error or "")
    assert f"dependency {first} ended failed" == jobmill.get(second).error


def test_retrying_a_failed_link_brings_back_the_dependents_it_cancelled(
    configured: Store,
) -> None:
    first, second, third = jobmill.chain(
        FoundationFailingJob.step(message="broken link"),
        SendEmailJob.step(to="b", subject="s"),
        SendEmailJob.step(to="c", subject="s"),
    )
    dead_too = SendEmailJob.set(delay=3600).later(to="d", subject="s")
    both = SendEmailJob.set(depends_on=[first, dead_too]).later(to="e", subject="s")
    drain()
    assert jobmill.get(third).status is JobStatus.CANCELLED
    assert jobmill.get(both).error == f"dependency {first} ended failed"
    jobmill.cancel(dead_too)

    jobmill.retry(first)

    for revived in (second, third):
        meta = jobmill.get(revived)
        assert (meta.status, meta.error, meta.completed_at) == (JobStatus.PENDING, None, None)
    assert jobmill.history(third)[-1].source == f"dependency:{second}"
    assert jobmill.get(both).status is JobStatus.CANCELLED  # dead_too is still cancelled
    drain()  # the link fails again: its dependents end cancelled again
    assert jobmill.get(third).status is JobStatus.CANCELLED


def test_retrying_a_job_behind_a_dead_dependency_is_refused(configured: Store) -> None:
    first, second = jobmill.chain(
        FoundationFailingJob.step(message="broken link"),
        SendEmailJob.step(to="b", subject="s"),
    )
    drain()
    with pytest.raises(JobStateError, match=f"depends on {first} \\(failed\\); retry that"):
        jobmill.retry(second)
    assert jobmill.get(second).status is JobStatus.CANCELLED


def test_depending_on_a_dead_job_cancels_at_once(configured: Store) -> None:
    dead = SendEmailJob.later(to="a", subject="s")
    jobmill.cancel(dead)
    child = SendEmailJob.set(depends_on=[dead]).later(to="b", subject="s")
    assert jobmill.get(child).status is JobStatus.CANCELLED
    with pytest.raises(ValueError, match="depends_on: no job with id nope"):
        SendEmailJob.set(depends_on=["nope"]).later(to="b", subject="s")


def test_inline_runs_later_at_once(configured: Store) -> None:
    with inline():
        job_id = SendEmailJob.later(to="i@example.com", subject="s")
    assert jobmill.get(job_id).status is JobStatus.COMPLETED
    assert jobmill.get(SendEmailJob.later(to="x", subject="s")).status is JobStatus.PENDING


def test_inline_leaves_jobs_of_a_caller_transaction_for_drain(configured: Store) -> None:
    from sqlalchemy import create_engine

    app_engine = create_engine(configured.engine.url.render_as_string(hide_password=False))
    try:
        with inline(), app_engine.begin() as conn:
            job_id = SendEmailJob.set(connection=conn).later(to="t@example.com", subject="s")
    finally:
        app_engine.dispose()
    assert jobmill.get(job_id).status is JobStatus.PENDING
    assert drain() == 1
    assert jobmill.get(job_id).status is JobStatus.COMPLETED


def test_unknown_job_name_in_the_database_fails_clearly(configured: Store) -> None:
    from jobmill.ids import new_job_id
    from jobmill.store import NewJobs

    [job_id] = configured.enqueue(
        [
            NewJobs(
                job_name="RemovedLongAgoJob",
                queue="default",
                priority=0,
                max_attempts=3,
                timeout=None,
                ids=[new_job_id()],
                params=["{}"],
            )
        ]
    )
    assert drain() == 1
    record = jobmill.get(job_id)
    assert record.status is JobStatus.FAILED
    assert "unknown job 'RemovedLongAgoJob'" in (record.error or "")
    assert "registered jobs:" in (record.error or "")


def test_retry_gives_the_jobs_own_allowance_again(configured: Store) -> None:
    job_id = FoundationFailingJob.set(max_attempts=2).later(message="x")
    for _ in range(2):
        record = configured.claim_jobs("t", 1, 30, now=jobmill.get(job_id).run_at)[0]
        from jobmill.runner import Runner

        Runner(configured).run(FoundationFailingJob, record)
    assert jobmill.get(job_id).status is JobStatus.FAILED

    first = jobmill.retry(job_id)
    assert (first.attempts, first.max_attempts) == (2, 4)  # two more, as enqueued
    for _ in range(2):
        record = configured.claim_jobs("t", 1, 30, now=jobmill.get(job_id).run_at)[0]
        Runner(configured).run(FoundationFailingJob, record)
    assert jobmill.get(job_id).status is JobStatus.FAILED
    second = jobmill.retry(job_id)
    assert (second.attempts, second.max_attempts) == (4, 6)
