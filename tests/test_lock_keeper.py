"""``LockKeeper``: the one registry and beat that keep running attempts' locks
alive, for workers and for jobs run in their caller — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from jobmill import outcomes
from jobmill.clock import utcnow
from jobmill.ids import new_job_id
from jobmill.keeper import HeldAttempt, LockKeeper
from jobmill.outcomes import Lock
from jobmill.runner import Runner
from jobmill.store import NewJobs, Store


def held_attempt(store: Store, worker_id: str) -> HeldAttempt:
    job = NewJobs("KeeperJob", "default", 0, 3, None, ids=[new_job_id()], params=["{}"])
    store.enqueue([job])
    record = store.claim_job(job.id, worker_id, lock_timeout=5)
    assert record is not None
    return HeldAttempt(Runner(store).context(record))


def test_a_beat_extends_every_held_lock_whatever_its_worker(configured: Store) -> None:
    keeper: LockKeeper[HeldAttempt] = LockKeeper(configured, lock_timeout=600)
    now_run, exec_run = held_attempt(configured, "now:h:1"), held_attempt(configured, "exec:h:1")
    keeper.add(now_run)
    keeper.add(exec_run)

    keeper.beat()

    for held in (now_run, exec_run):
        until = configured.get_job(held.context.record.id).locked_until
        assert until is not None and until > utcnow() + timedelta(seconds=500)
        assert not held.context.cancel_requested
    assert len(keeper) == 2 and keeper.remove(now_run) and not keeper.remove(now_run)


def test_a_beat_passes_on_cancellation_requests_and_lost_locks(configured: Store) -> None:
    keeper: LockKeeper[HeldAttempt] = LockKeeper(configured, lock_timeout=600)
    cancelled, lost, settling = (held_attempt(configured, "w") for _ in range(3))
    for held in (cancelled, lost, settling):
        keeper.add(held)
    configured.cancel_job(cancelled.context.record.id, "test")
    configured.extend_locks([Lock.of(cancelled.context.record)], 600)
    later = utcnow() + timedelta(seconds=10)
    assert lost.context.record.id in configured.rescue_expired(now=later)
    settling.context.settling = True  # its outcome is written: its lock is gone
    configured.record_outcome(Lock.of(settling.context.record), outcomes.completed(1))

    keeper.beat()

    assert cancelled.context.cancel_requested and not cancelled.context.lock_lost
    assert lost.context.cancel_requested and lost.context.lock_lost
    assert not settling.context.cancel_requested and not settling.context.lock_lost


def test_callers_share_one_keeper_per_store(configured: Store) -> None:
    assert LockKeeper.for_store(configured, 30) is LockKeeper.for_store(configured, 60)
