"""The storage suite: claims, fencing, heartbeats, rescue — on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from jobmill.clock import utcnow
from jobmill.ids import new_job_id
from jobmill.outcomes import Lock, Outcome, ProgressUpdate
from jobmill.states import TRANSITIONS, JobStatus
from jobmill.store import NewJobs, Store


def new_job(name: str = "StoreJob", **fields: object) -> NewJobs:
    values: dict[str, object] = {
        "ids": (new_job_id(),),
        "job_name": name,
        "queue": "default",
        "priority": 0,
        "params": ("{}",),
        "max_attempts": 3,
        "timeout": None,
    }
    values.update(fields)
    return NewJobs(**values)  # type: ignore[arg-type]


def test_claim_jobs_orders_by_priority_then_run_at_then_id(configured: Store) -> None:
    now = utcnow()
    low = new_job(priority=0, run_at=now - timedelta(seconds=30))
    high_late = new_job(priority=5, run_at=now - timedelta(seconds=1))
    high_early = new_job(priority=5, run_at=now - timedelta(seconds=10))
    tie_a = new_job(priority=1, run_at=now - timedelta(seconds=5))
    tie_b = new_job(priority=1, run_at=now - timedelta(seconds=5))
    configured.enqueue([low, high_late, high_early, tie_a, tie_b])

    claimed = configured.claim_jobs("w", 10, 30)

    expected = [high_early.id, high_late.id, *sorted([tie_a.id, tie_b.id]), low.id]
    assert [job.id for job in claimed] == expected
    assert all(job.status is JobStatus.RUNNING and job.attempts == 1 for job in claimed)
    assert all(job.worker_id == "w" and job.locked_until for job in claimed)


def test_a_claimed_record_reads_every_column_and_copies_like_any_model(
    configured: Store,
) -> None:
    # Records read from rows are built without validation: they must still be
    # whole pydantic models (each field from its own column, copies that update).
    job = new_job(priority=3, params=('{"n": 7}',), unique_key="k1", max_attempts=4)
    configured.enqueue([job])
    [claimed] = configured.claim_jobs("w-1", 1, 30)

    assert claimed == configured.get_job(job.id)
    assert (claimed.job_name, claimed.queue, claimed.priority) == ("StoreJob", "default", 3)
    assert (claimed.params, claimed.unique_key, claimed.max_attempts) == ({"n": 7}, "k1", 4)
    assert (claimed.worker_id, claimed.attempts, claimed.status) == ("w-1", 1, JobStatus.RUNNING)
    assert claimed.locked_until is not None and claimed.locked_until.tzinfo is not None
    assert claimed.cancel_requested is False and claimed.cron_job_id is None

    copy = claimed.model_copy(update={"priority": 9})
    assert (copy.priority, claimed.priority) == (9, 3)
    assert copy.model_dump() == {**claimed.model_dump(), "priority": 9}


def test_claim_jobs_takes_only_ready_jobs(configured: Store) -> None:
    now = utcnow()
    future = new_job(run_at=now + timedelta(hours=1))
    other_queue = new_job(queue="mail")
    other_name = new_job(name="Unknown")
    parent = new_job()
    child = new_job(depends_on=(parent.id,))
    configured.enqueue([future, other_queue, other_name, parent, child])

    claimed = configured.claim_jobs("w", 10, 30, queues=["default"], job_names=["StoreJob"])
    assert [job.id for job in claimed] == [parent.id]

    assert configured.claim_jobs("w", 10, 30, queues=["default"], job_names=["StoreJob"]) == []
    lock = Lock.of(claimed[0])
    assert configured.record_outcome(lock, Outcome(JobStatus.COMPLETED))
    unblocked = configured.claim_jobs("w", 10, 30, job_names=["StoreJob"])
    assert [j.id for j in unblocked] == [other_queue.id, child.id]
    later = configured.claim_jobs("w", 10, 30, now=now + timedelta(hours=2), queues=["default"])
    assert {job.id for job in later} == {future.id, other_name.id}


def test_has_ready_jobs_looks_only_at_the_queues_and_job_names_given(configured: Store) -> None:
    configured.enqueue([new_job(queue="mail")])

    assert configured.has_ready_jobs()
    assert configured.has_ready_jobs(queues=["mail"], job_names=["StoreJob"])
    assert not configured.has_ready_jobs(queues=["default"])
    assert not configured.has_ready_jobs(job_names=["OtherJob"])
    assert not configured.has_ready_jobs(now=utcnow() - timedelta(hours=1))


def test_claim_job_locks_the_job_for_lock_timeout(configured: Store) -> None:
    job = new_job()
    configured.enqueue([job])
    now = utcnow()

    claimed = configured.claim_job(job.id, "w", 30, now=now)

    assert claimed is not None and claimed.locked_until is not None
    assert abs(claimed.locked_until - (now + timedelta(seconds=30))) < timedelta(seconds=1)
    assert configured.rescue_expired(now=now + timedelta(seconds=29)) == []
    assert configured.claim_job(job.id, "w2", 30) is None


def test_concurrent_claimers_take_each_job_once(configured: Store) -> None:
    configured.enqueue([new_job() for _ in range(200)])
    taken: list[str] = []
    mutex = threading.Lock()

    def claimer(index: int) -> None:
        while True:
            batch = configured.claim_jobs(f"w{index}", 7, 30)
            if not batch:
                return
            with mutex:
                taken.extend(job.id for job in batch)

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(taken) == 200
    assert len(set(taken)) == 200


def test_writes_are_fenced_by_worker_and_attempt(configured: Store) -> None:
    configured.enqueue([new_job()])
    [record] = configured.claim_jobs("w1", 1, 30)
    lock = Lock.of(record)
    stale = Lock(record.id, "w1", record.attempts - 1)
    stranger = Lock(record.id, "w2", record.attempts)
    update = [ProgressUpdate(40, "half", utcnow())]

    for wrong in (stale, stranger):
        assert not configured.record_progress(wrong, update)
        assert not configured.record_outcome(wrong, Outcome(JobStatus.COMPLETED, result=1))
    assert configured.get_job(record.id).status is JobStatus.RUNNING

    assert configured.record_progress(lock, update)
    assert configured.record_progress(lock, [])
    assert [e.kind for e in configured.stored_events(record.id)][-1] == "progress"
    assert configured.record_outcome(lock, Outcome(JobStatus.COMPLETED, result=2))
    done = configured.get_job(record.id)
    assert (done.status, done.result, done.progress) == (JobStatus.COMPLETED, 2, 100)
    assert not configured.record_outcome(lock, Outcome(JobStatus.FAILED, error="late"))
    assert configured.get_job(record.id).result == 2


def test_extend_locks_extends_only_own_locks_and_reports_cancels(configured: Store) -> None:
    configured.enqueue([new_job(), new_job()])
    mine, theirs = configured.claim_jobs("w1", 1, 1), configured.claim_jobs("w2", 1, 1)
    before = mine[0].locked_until
    assert before is not None

    answer = configured.extend_locks([Lock.of(mine[0]), Lock(theirs[0].id, "w1", 1)], 60)

    assert answer == {Lock.of(mine[0]): False}
    extended = configured.get_job(mine[0].id).locked_until
    assert extended is not None and extended > before + timedelta(seconds=30)
    untouched = configured.get_job(theirs[0].id)
    assert (untouched.worker_id, untouched.locked_until) == ("w2", theirs[0].locked_until)


def test_rescue_expired_returns_to_pending_or_fails_when_exhausted(configured: Store) -> None:
    retryable, exhausted, alive = new_job(), new_job(max_attempts=1), new_job()
    configured.enqueue([retryable, exhausted, alive])
    start = utcnow()
    configured.claim_jobs("dead", 2, 1)
    configured.claim_jobs("live", 1, 600)
    later = utcnow() + timedelta(seconds=5)
    assert not configured.has_expired_locks(now=start)
    assert configured.has_expired_locks(now=later)

    rescued = configured.rescue_expired(now=later)

    assert set(rescued) == {retryable.id, exhausted.id}
    assert configured.get_job(retryable.id).status is JobStatus.PENDING
    failed = configured.get_job(exhausted.id)
    assert failed.status is JobStatus.FAILED
    assert "lock expired" in (failed.error or "")
    assert configured.get_job(alive.id).status is JobStatus.RUNNING
    kinds = [e.kind for e in configured.stored_events(exhausted.id)]
    assert kinds == ["started", "lock_expired", "failed"]
    assert configured.rescue_expired(now=later) == []
    assert not configured.has_expired_locks(now=later)


def test_rescue_expired_rescues_at_most_limit_jobs_a_call(configured: Store) -> None:
    configured.enqueue([new_job() for _ in range(3)])
    configured.claim_jobs("dead", 3, 1)
    later = utcnow() + timedelta(seconds=5)

    assert len(configured.rescue_expired(now=later, limit=2)) == 2
    assert len(configured.rescue_expired(now=later, limit=2)) == 1
    assert configured.rescue_expired(now=later, limit=2) == []


def test_rescue_expired_ends_a_cancel_requested_job_cancelled(configured: Store) -> None:
    parent = new_job()
    child = new_job(depends_on=(parent.id,))
    configured.enqueue([parent, child])
    configured.claim_jobs("dead", 1, 1)
    configured.cancel_job(parent.id, "test")  # its worker dies before it sees this

    assert configured.rescue_expired(now=utcnow() + timedelta(seconds=5)) == [parent.id]

    rescued = configured.get_job(parent.id)
    assert rescued.status is JobStatus.CANCELLED
    assert "cancellation was requested" in (rescued.error or "")
    kinds = [e.kind for e in configured.stored_events(parent.id)]
    assert kinds == ["cancel_requested", "started", "lock_expired", "cancelled"]
    assert configured.get_job(child.id).status is JobStatus.CANCELLED


def test_release_gives_the_attempt_back(configured: Store) -> None:
    configured.enqueue([new_job()])
    [record] = configured.claim_jobs("w", 1, 30)
    assert configured.release(Lock.of(record))
    released = configured.get_job(record.id)
    assert (released.status, released.attempts, released.worker_id) == (JobStatus.PENDING, 0, None)


def test_release_ends_a_cancel_requested_job_cancelled(configured: Store) -> None:
    parent = new_job()
    child = new_job(depends_on=(parent.id,))
    configured.enqueue([parent, child])
    [record] = configured.claim_jobs("w", 1, 30)
    configured.cancel_job(parent.id, "test")

    assert configured.release(Lock.of(record))

    released = configured.get_job(parent.id)
    assert (released.status, released.worker_id) == (JobStatus.CANCELLED, "w")
    assert configured.stored_events(parent.id)[-1].kind == "cancelled"
    assert configured.get_job(child.id).status is JobStatus.CANCELLED
    assert not configured.release(Lock.of(record))


def test_enqueue_listeners_hear_of_jobs_only_once_committed(configured: Store) -> None:
    from jobmill.store.cron import NewCronJob

    visible: list[bool] = []
    configured.enqueue_listeners.append(lambda queues: visible.append(configured.has_ready_jobs()))
    entry = configured.add_cron_job(
        NewCronJob(None, "StoreJob", "@daily", "UTC", {}, utcnow() + timedelta(days=1))
    )
    configured.run_cron_job(entry.id, new_job(), "test", "run now")
    assert visible == [True]

    with configured.engine.begin() as conn:
        configured.enqueue([new_job()], connection=conn)
    assert visible == [True]  # the caller's transaction: found by polling


def test_observed_transitions_are_all_allowed(configured: Store) -> None:
    seen: set[tuple[JobStatus, JobStatus]] = set()

    def move(job_id: str, action: object) -> None:
        before = configured.get_job(job_id).status
        action()  # type: ignore[operator]
        after = configured.get_job(job_id).status
        if before != after:
            seen.add((before, after))

    a, b, c, d = new_job(), new_job(max_attempts=1), new_job(), new_job()
    configured.enqueue([a, b, c, d])
    move(d.id, lambda: configured.cancel_job(d.id, "test"))
    move(d.id, lambda: configured.retry_job(d.id, 1, "test"))
    records = {r.id: r for r in configured.claim_jobs("w", 4, 30)}
    finish = configured.record_outcome
    move(a.id, lambda: finish(Lock.of(records[a.id]), Outcome(JobStatus.COMPLETED)))
    move(b.id, lambda: finish(Lock.of(records[b.id]), Outcome(JobStatus.FAILED, error="x")))
    move(b.id, lambda: configured.retry_job(b.id, 1, "test"))
    move(c.id, lambda: finish(Lock.of(records[c.id]), Outcome(JobStatus.CANCELLED)))

    assert seen <= set(TRANSITIONS)
    assert len(seen) >= 6


def test_prune_deletes_only_old_finished_jobs_of_the_given_statuses(configured: Store) -> None:
    old, older, old_failed, fresh, pending = (new_job() for _ in range(5))
    configured.enqueue([old, older, old_failed, fresh, pending])
    records = {r.id: r for r in configured.claim_jobs("w", 4, 30)}
    now = utcnow()
    ended = [
        (older, Outcome(JobStatus.COMPLETED), now - timedelta(days=3)),
        (old, Outcome(JobStatus.COMPLETED), now - timedelta(days=2)),
        (old_failed, Outcome(JobStatus.FAILED, error="x"), now - timedelta(days=2)),
        (fresh, Outcome(JobStatus.COMPLETED), now),
    ]
    for job, outcome, at in ended:
        assert configured.record_outcome(Lock.of(records[job.id]), outcome, now=at)

    cutoff = now - timedelta(days=1)
    pruned = configured.prune_jobs(cutoff, statuses=[JobStatus.COMPLETED], batch_size=1)

    assert pruned == 2
    assert {j.id for j in configured.list_jobs()} == {old_failed.id, fresh.id, pending.id}
    assert configured.stored_events(old_failed.id) != []
    assert configured.stored_events(old.id) == []  # its history went with it
    assert configured.prune_jobs(cutoff, statuses=[JobStatus.COMPLETED]) == 0


SPANS = [
    (JobStatus.PENDING, True),
    (JobStatus.RUNNING, True),
    (JobStatus.COMPLETED, False),
    (JobStatus.FAILED, False),
    (JobStatus.CANCELLED, False),
]


@pytest.mark.parametrize(("status", "spans"), SPANS)
def test_unique_key_spans_pending_and_running_jobs_only(
    configured: Store, status: JobStatus, spans: bool
) -> None:
    [first_id] = configured.enqueue([new_job(unique_key="k", max_attempts=1)])
    if status is JobStatus.CANCELLED:
        configured.cancel_job(first_id, "test")
    elif status is not JobStatus.PENDING:
        [record] = configured.claim_jobs("w", 1, 30)
        if status is not JobStatus.RUNNING:
            assert configured.record_outcome(Lock.of(record), Outcome(status, error="x"))
    assert configured.get_job(first_id).status is status

    [second_id] = configured.enqueue([new_job(unique_key="k")])

    assert (second_id == first_id) is spans
    assert configured.count_jobs() == (1 if spans else 2)
