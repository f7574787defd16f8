"""What a job sees while it runs, transactional enqueue and draining by queue."""

from __future__ import annotations

import logging

import pytest

import jobmill
from foundation_jobs import SendEmailJob
from jobmill import Job, JobNotFound, JobStatus
from jobmill.store import Store
from jobmill.testing import drain


class ContextLoggingJob(Job[None, dict[str, object]]):
    def perform(self, params: None) -> dict[str, object]:
        self.logger.info("working on attempt %d", self.attempt)
        return {"id": self.id, "attempt": self.attempt, "cancelled": self.cancel_requested}


def test_job_sees_its_id_attempt_and_logger(
    configured: Store, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="jobmill.jobs"):
        result = ContextLoggingJob.now()

    assert result.data == {"id": result.metadata.id, "attempt": 1, "cancelled": False}
    [line] = [r for r in caplog.records if r.name == "jobmill.jobs.ContextLoggingJob"]
    assert line.getMessage() == "working on attempt 1"
    assert line.job_id == result.metadata.id  # type: ignore[attr-defined]


def test_drain_runs_only_the_queues_asked_for(configured: Store) -> None:
    mail = SendEmailJob.later(to="a", subject="s")
    urgent = SendEmailJob.set(queue="urgent").later(to="b", subject="s")

    assert drain(queues=["urgent"]) == 1

    assert jobmill.get(urgent).status is JobStatus.COMPLETED
    assert jobmill.get(mail).status is JobStatus.PENDING


def test_enqueue_inside_the_callers_transaction(sqlite_configured: Store) -> None:
    engine = sqlite_configured.engine
    with pytest.raises(RuntimeError), engine.begin() as conn:
        rolled_back = SendEmailJob.set(connection=conn).later(to="a", subject="s")
        raise RuntimeError("the caller's transaction fails")
    with pytest.raises(JobNotFound):
        jobmill.get(rolled_back)

    with engine.begin() as conn:
        committed = SendEmailJob.set(connection=conn).later(to="b", subject="s")
    assert jobmill.get(committed).status is JobStatus.PENDING
