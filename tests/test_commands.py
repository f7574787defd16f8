"""``jobmill.commands``: the operator layer the CLI and dashboard share — each
action recorded with who acted, the views reading what the store holds."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

import jobmill
from foundation_jobs import FoundationFailingJob, SendEmailJob
from jobmill import EventKind, JobStateError, JobStatus, commands
from jobmill.clock import utcnow
from jobmill.store import JobFilter, Store
from jobmill.testing import drain

SOURCE = "test:operator@host"


def failed_job(message: str = "boom") -> str:
    job_id = FoundationFailingJob.set(max_attempts=1).later(message=message)
    drain()
    assert jobmill.get(job_id).status is JobStatus.FAILED
    return job_id


def sources(job_id: str) -> list[tuple[str, str | None]]:
    return [(event.kind, event.source) for event in jobmill.history(job_id) if event.source]


def test_discard_is_public_and_records_who_acted(configured: Store) -> None:
    job_id = failed_job()
    discarded = jobmill.discard(job_id[:13], source=SOURCE)
    assert (discarded.id, discarded.status) == (job_id, JobStatus.CANCELLED)
    assert (EventKind.DISCARDED, SOURCE) in sources(job_id)
    [event] = [e for e in jobmill.history(job_id) if e.kind is EventKind.DISCARDED]
    assert event.message == "BoomError: boom"
    with pytest.raises(JobStateError, match="only failed jobs can be discarded"):
        jobmill.discard(job_id)


def test_actions_default_to_an_api_source(configured: Store) -> None:
    job_id = SendEmailJob.later(to="a", subject="s")
    jobmill.cancel(job_id)
    [(kind, source)] = sources(job_id)
    assert kind is EventKind.CANCELLED
    assert source is not None and source.startswith("api:") and "@" in source


def test_retry_failed_retries_each_and_says_why_others_were_not(configured: Store) -> None:
    first, second = failed_job("one"), failed_job("two")
    SendEmailJob.later(to="a", subject="s")

    done = jobmill.retry_failed("FoundationFailingJob", source=SOURCE)

    assert done.retried == (first, second) and done.refused == ()
    assert all((EventKind.RETRIED, SOURCE) in sources(j) for j in (first, second))
    again = commands.retry_each([first, "ffffffff"], source=SOURCE)
    assert again.retried == ()
    assert "only failed or cancelled jobs can be retried" in again.refused[0]
    assert "no job with id or prefix 'ffffffff'" in again.refused[1]
    assert jobmill.retry_failed(limit=1).retried == ()


def test_retry_failed_stops_at_its_limit(configured: Store) -> None:
    ids = [failed_job(str(n)) for n in range(3)]
    assert jobmill.retry_failed(limit=2).retried == tuple(ids[:2])
    assert jobmill.get(ids[2]).status is JobStatus.FAILED


def test_prune_deletes_old_finished_jobs_and_logs_who_acted(
    configured: Store, caplog: pytest.LogCaptureFixture
) -> None:
    done = SendEmailJob.now(to="a", subject="s").metadata.id
    failed = failed_job()
    pending = SendEmailJob.later(to="b", subject="s")
    later = utcnow() + timedelta(days=2)

    assert commands.count_prunable(timedelta(days=1), now=later) == {
        JobStatus.CANCELLED: 0,
        JobStatus.COMPLETED: 1,
        JobStatus.FAILED: 1,
    }
    assert jobmill.prune(timedelta(days=3), now=later) == 0
    with caplog.at_level(logging.INFO, logger="jobmill.commands"):
        assert jobmill.prune(86400, ["completed"], source=SOURCE, now=later) == 1
    assert "pruned 1 jobs (completed) finished before" in caplog.text
    assert SOURCE in caplog.text
    assert {job.id for job in commands.list_jobs()} == {failed, pending}
    assert done not in {job.id for job in commands.list_jobs()}


@pytest.mark.parametrize(
    ("statuses", "message"),
    [(["pending"], "pending: only finished jobs"), (["bogus"], "'bogus' is not a valid")],
)
def test_prune_refuses_unfinished_or_unknown_statuses(
    configured: Store, statuses: list[str], message: str
) -> None:
    SendEmailJob.later(to="a", subject="s")
    with pytest.raises(ValueError, match=message):
        jobmill.prune(0, statuses)
    with pytest.raises(ValueError, match="older_than must not be negative"):
        jobmill.prune(-1)
    assert len(commands.list_jobs()) == 1


def test_job_detail_has_the_history_and_the_neighbours(configured: Store) -> None:
    first, second = jobmill.chain(
        SendEmailJob.step(to="a", subject="s"), SendEmailJob.step(to="b", subject="s")
    )
    detail = commands.job_detail(second)
    assert detail.job.id == second
    assert [job.id for job in detail.dependencies] == [first]
    assert detail.dependents == []
    assert [event.kind for event in detail.events] == [EventKind.ENQUEUED]
    assert [job.id for job in commands.job_detail(first).dependents] == [second]


def test_listings(configured: Store) -> None:
    now_id = SendEmailJob.later(to="a", subject="s")
    soon = SendEmailJob.set(delay=60).later(to="b", subject="s")
    later = SendEmailJob.set(delay=3600).later(to="c", subject="s")
    assert [job.id for job in commands.list_jobs(limit=2)] == [later, soon]
    assert [job.id for job in commands.list_jobs(offset=2)] == [now_id]
    assert [job.id for job in commands.list_scheduled_jobs()] == [soon, later]
    pending = commands.list_jobs(JobFilter(status=JobStatus.PENDING))
    assert len(pending) == 3
    assert commands.list_workers() == []
