"""Cancelling a running attempt ends it and the job ends ``cancelled``."""

from __future__ import annotations

import threading
import time

import pytest

import jobmill
from jobmill import Job, JobStatus
from jobmill.runner import Runner
from jobmill.store import Store

pytestmark = pytest.mark.through_pgbouncer

started = threading.Event()


class CooperativeJob(Job[None, str]):
    """Checks ``cancel_requested`` and returns early."""

    max_attempts = 1

    def perform(self, params: None) -> str:
        started.set()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.cancel_requested:
                return "stopped early"
            time.sleep(0.01)
        return "ran to the end"


class StubbornJob(Job[None, str]):
    """Never looks at the flag: pure Python, so the cancellation interrupts it."""

    max_attempts = 1

    def perform(self, params: None) -> str:
        started.set()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            pass
        return "ran to the end"


def run_and_cancel(store: Store, job_class: type[Job[None, str]]) -> None:
    """Run one attempt in a thread and cancel it once started."""
    started.clear()
    job_class.later()
    [record] = store.claim_jobs("canceller", 1, 60, job_names=[job_class.job_name])
    runner = Runner(store)
    context = runner.context(record)
    thread = threading.Thread(target=runner.run, args=(job_class, record, context))
    thread.start()
    assert started.wait(10)
    context.request_cancel()
    thread.join(10)
    assert not thread.is_alive()


def test_a_job_that_returns_after_the_request_ends_cancelled(configured: Store) -> None:
    run_and_cancel(configured, CooperativeJob)
    [job] = configured.list_jobs()
    assert job.status is JobStatus.CANCELLED
    assert job.result is None  # "stopped early" is not a completion


def test_a_sync_job_ignoring_the_flag_is_interrupted(configured: Store) -> None:
    run_and_cancel(configured, StubbornJob)
    [job] = configured.list_jobs()
    assert job.status is JobStatus.CANCELLED
    assert job.error == "JobCancelled"


class ReturnsAsCancelledJob(Job[None, str]):
    """Returns in the very step its cancellation is requested (the race a
    heartbeat's request can lose)."""

    max_attempts = 1

    async def perform(self, params: None) -> str:
        self._context.request_cancel()  # as the heartbeat would, just now
        return "returned anyway"


def test_a_job_returning_after_the_request_is_not_completed(configured: Store) -> None:
    """Even when the job wins the race and returns, the request makes it cancelled."""
    ReturnsAsCancelledJob.later()
    [record] = configured.claim_jobs("canceller", 1, 60, job_names=["ReturnsAsCancelledJob"])
    settled = Runner(configured).run(ReturnsAsCancelledJob, record)
    assert settled.outcome.status is JobStatus.CANCELLED
    assert "cancellation request" in (settled.outcome.error or "")
    assert jobmill.get(record.id).status is JobStatus.CANCELLED


def test_a_job_cancelled_before_it_starts_does_not_run(configured: Store) -> None:
    CooperativeJob.later()
    [record] = configured.claim_jobs("canceller", 1, 60, job_names=["CooperativeJob"])
    runner = Runner(configured)
    context = runner.context(record)
    started.clear()
    context.request_cancel()  # while it waited for a slot
    settled = runner.run(CooperativeJob, record, context)
    assert not started.is_set()
    assert settled.outcome.status is JobStatus.CANCELLED
    assert settled.outcome.error == "JobCancelled: cancelled before it started"
