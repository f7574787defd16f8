"""The store operations the worker relies on: the workers table, expired locks."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jobmill.clock import utcnow
from jobmill.store import Store
from worker_jobs import WorkerNoopJob


def test_register_worker_then_list_workers(configured: Store) -> None:
    configured.register_worker("w-1", "host-a", 123, ["mail", "default"], 4)
    configured.register_worker("w-2", "host-b", 456, None, 1)

    listed = {worker.id: worker for worker in configured.list_workers()}

    assert listed["w-1"].hostname == "host-a"
    assert listed["w-1"].pid == 123
    assert listed["w-1"].queues == ("mail", "default")
    assert listed["w-1"].concurrency == 4
    assert listed["w-2"].queues is None
    assert listed["w-1"].started_at.tzinfo is not None


def test_list_workers_shows_the_jobs_each_holds(configured: Store) -> None:
    job_id = WorkerNoopJob.later()
    configured.register_worker("w-1", "host", 1, None, 2)
    configured.claim_jobs("w-1", 5, 30)

    [worker] = configured.list_workers()

    assert worker.running_job_ids == (job_id,)
    assert [job.id for job in configured.jobs_locked_by("w-1")] == [job_id]
    assert configured.jobs_locked_by("w-other") == []


def test_heartbeat_worker_moves_heartbeat_at_and_reports_a_missing_row(configured: Store) -> None:
    start = utcnow()
    configured.register_worker("w-1", "host", 1, None, 1, now=start)

    assert configured.heartbeat_worker("w-1", now=start + timedelta(seconds=5))
    assert configured.list_workers()[0].heartbeat_at == start + timedelta(seconds=5)
    assert not configured.heartbeat_worker("w-unknown")


def test_register_worker_again_replaces_its_row(configured: Store) -> None:
    configured.register_worker("w-1", "host", 1, None, 1)
    configured.register_worker("w-1", "host", 1, ["q"], 3)

    [worker] = configured.list_workers()
    assert (worker.queues, worker.concurrency) == (("q",), 3)


def test_unregister_worker_and_prune_workers(configured: Store) -> None:
    start = utcnow()
    configured.register_worker("w-old", "host", 1, None, 1, now=start - timedelta(hours=1))
    configured.register_worker("w-new", "host", 2, None, 1, now=start)
    configured.register_worker("w-gone", "host", 3, None, 1, now=start)

    configured.unregister_worker("w-gone")
    pruned = configured.prune_workers(start - timedelta(minutes=10))

    assert pruned == 1
    assert [worker.id for worker in configured.list_workers()] == ["w-new"]


@pytest.mark.parametrize("expired", [True, False])
def test_has_expired_locks(configured: Store, expired: bool) -> None:
    WorkerNoopJob.later()
    start = utcnow()
    configured.claim_jobs("w-1", 1, 10, now=start)

    later = start + timedelta(seconds=11 if expired else 9)

    assert configured.has_expired_locks(later) is expired
    assert configured.has_expired_locks(start) is False
