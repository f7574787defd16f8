"""Slots and claims ahead, on SQLite and PostgreSQL: at most ``concurrency``
attempts run at once whatever their kind; jobs claimed beyond the running
ones wait their turn, are never started after a cancellation or at shutdown,
and go back to pending untouched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import jobmill
from jobmill import JobStatus
from jobmill.store import Store
from test_worker_loop import burst, running_worker, status_of
from worker_jobs import (
    GAUGE,
    WorkerAsyncGaugeJob,
    WorkerCooperativeJob,
    WorkerGaugeJob,
    WorkerRecordJob,
    read_lines,
    wait_until,
)


@pytest.fixture
def ledger(tmp_path: Path) -> str:
    return str(tmp_path / "ledger.txt")


@pytest.fixture(autouse=True)
def _fresh_gauge() -> None:
    GAUGE.now = GAUGE.peak = 0


@pytest.mark.parametrize(
    ("sync", "asynchronous"), [(12, 0), (0, 12), (6, 6)], ids=["sync", "async", "mixed"]
)
def test_at_most_concurrency_attempts_run_at_once(
    configured: Store, sync: int, asynchronous: int
) -> None:
    WorkerGaugeJob.later_many([{"seconds": 0.1}] * sync)
    WorkerAsyncGaugeJob.later_many([{"seconds": 0.1}] * asynchronous)

    worker = burst(concurrency=3, prefetch=5)

    assert worker.processed == sync + asynchronous
    assert GAUGE.peak == 3  # the slots were all used, and never more


def test_jobs_claimed_ahead_go_back_to_pending_untouched_at_shutdown(
    configured: Store, ledger: str
) -> None:
    long_id = WorkerCooperativeJob.later(ledger=ledger, seconds=30)
    waiting = WorkerRecordJob.later_many([{"ledger": ledger, "tag": f"w{n}"} for n in range(3)])

    with running_worker(concurrency=1, prefetch=3, grace_period=0.2):
        # The long job runs; the others are claimed ahead, waiting for its slot.
        wait_until(lambda: all(status_of(job_id) == "running" for job_id in [long_id, *waiting]))

    assert read_lines(ledger) == ["started"]
    for job_id in [long_id, *waiting]:
        record = jobmill.get(job_id)
        assert (record.status, record.attempts, record.worker_id) == ("pending", 0, None)


def test_a_job_cancelled_while_claimed_ahead_never_starts(configured: Store, ledger: str) -> None:
    long_id = WorkerCooperativeJob.later(ledger=ledger, seconds=2)
    waiting_id = WorkerRecordJob.later(ledger=ledger, tag="never")

    with running_worker(concurrency=1, prefetch=1, lock_timeout=0.8):
        wait_until(lambda: status_of(waiting_id) == "running")
        jobmill.cancel(waiting_id)
        wait_until(lambda: status_of(waiting_id) == "cancelled")
        wait_until(lambda: status_of(long_id) == "completed")

    assert read_lines(ledger) == ["started"]


def test_without_prefetch_only_running_jobs_are_claimed(configured: Store, ledger: str) -> None:
    long_id = WorkerCooperativeJob.later(ledger=ledger, seconds=30)
    others = WorkerRecordJob.later_many([{"ledger": ledger, "tag": f"w{n}"} for n in range(3)])

    with running_worker(concurrency=1, prefetch=0, grace_period=0):
        wait_until(lambda: read_lines(ledger) == ["started"])
        statuses: list[Any] = [status_of(job_id) for job_id in others]

    assert statuses == [JobStatus.PENDING] * 3
    assert status_of(long_id) == JobStatus.PENDING  # released at shutdown


def test_a_failure_handing_over_claimed_jobs_loses_none(
    configured: Store, ledger: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jobmill.worker.loop import ClaimLoop

    handed = ClaimLoop._claimed
    failures = []

    def fails_once(self: ClaimLoop, records: list[Any]) -> None:
        if not failures:
            failures.append(records)
            handed(self, records[:1])  # the rest stay locked, held by nobody
            raise RuntimeError("handing over failed")
        handed(self, records)

    monkeypatch.setattr(ClaimLoop, "_claimed", fails_once)
    ids = WorkerRecordJob.later_many([{"ledger": ledger, "tag": f"j{n}"} for n in range(6)])

    burst(concurrency=2, prefetch=4)

    assert failures and len(failures[0]) > 1
    assert [status_of(job_id) for job_id in ids] == [JobStatus.COMPLETED] * 6
    assert sorted(line.split()[0] for line in read_lines(ledger)) == sorted(
        f"j{n}" for n in range(6)
    )
