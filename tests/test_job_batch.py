"""batch / abatch: a true concurrency limit, input order, failures as results."""

from __future__ import annotations

import asyncio

import pytest

from foundation_jobs import AsyncBatchJob, BatchSlowJob, batch_gauge
from jobmill import JobStatus
from jobmill.dispatch import STOPPED_BY_BATCH
from jobmill.store import Store


@pytest.fixture(autouse=True)
def _reset_gauge() -> None:
    batch_gauge.peak = 0


def test_batch_keeps_order_and_limits_concurrency(configured: Store) -> None:
    results = BatchSlowJob.batch([{"n": n} for n in range(8)], concurrency=3)

    assert [r.data for r in results] == [n * 10 for n in range(8)]
    assert all(r.ok for r in results)
    assert batch_gauge.peak == 3
    assert configured.count_jobs() == 8


def test_batch_failures_are_results_not_exceptions(configured: Store) -> None:
    items = [{"n": 0}, {"n": 1, "fail": True}, {"n": 2}]

    results = BatchSlowJob.batch(items, concurrency=2)

    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error == "BoomError: item 1 failed"
    assert results[1].metadata.status is JobStatus.FAILED
    assert results[2].data == 20


def test_batch_stop_on_error_cancels_the_rest(configured: Store) -> None:
    items = [{"n": 0, "fail": True}] + [{"n": n} for n in range(1, 6)]

    results = BatchSlowJob.batch(items, concurrency=1, stop_on_error=True)

    assert results[0].metadata.status is JobStatus.FAILED
    assert [r.metadata.status for r in results[1:]] == [JobStatus.CANCELLED] * 5
    assert {r.error for r in results[1:]} == {STOPPED_BY_BATCH}
    assert configured.count_jobs() == 6  # every item is recorded


def test_abatch_limits_concurrency_and_stops_on_error(configured: Store) -> None:
    ok = asyncio.run(AsyncBatchJob.abatch([{"n": n} for n in range(6)], concurrency=2))
    assert [r.data for r in ok] == [0, 10, 20, 30, 40, 50]
    assert batch_gauge.peak == 2

    items = [{"n": 0}, {"n": 1, "fail": True}, {"n": 2}, {"n": 3}]
    stopped = asyncio.run(AsyncBatchJob.abatch(items, concurrency=1, stop_on_error=True))
    assert [r.metadata.status for r in stopped] == [
        JobStatus.COMPLETED,
        JobStatus.FAILED,
        JobStatus.CANCELLED,
        JobStatus.CANCELLED,
    ]


def test_batch_rejects_invalid_items_before_running_any(configured: Store) -> None:
    with pytest.raises(ValueError, match=r"item 1"):
        BatchSlowJob.batch([{"n": 1}, {"n": "x"}])
    with pytest.raises(ValueError, match="concurrency must be >= 1"):
        BatchSlowJob.batch([{"n": 1}], concurrency=0)
    assert configured.count_jobs() == 0
