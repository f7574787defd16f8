"""The worker in this process, on SQLite and PostgreSQL: claims, order, queues,
retries, timeouts, cancellation, dependencies, shutdown, the workers row."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, text

import jobmill
from jobmill import JobStatus, registry, runtime
from jobmill.clock import utcnow
from jobmill.ids import new_job_id
from jobmill.store import NewJobs, Store
from jobmill.store.schema import cron_jobs
from jobmill.worker import Worker
from pump_trace import PumpTrace
from worker_jobs import (
    WorkerAsyncNoopJob,
    WorkerAsyncSleepJob,
    WorkerBackoffJob,
    WorkerBusyLoopJob,
    WorkerCooperativeJob,
    WorkerDiscardJob,
    WorkerFlakyJob,
    WorkerNoopJob,
    WorkerProgressJob,
    WorkerRecordJob,
    WorkerRetryOnJob,
    WorkerSlowJob,
    read_lines,
    wait_until,
)


def burst(**options: Any) -> Worker:
    worker = Worker(burst=True, **{"scheduler": False, "handle_signals": False, **options})
    worker.run()
    return worker


@contextmanager
def running_worker(**options: Any) -> Iterator[Worker]:
    """A worker running in a thread until the block ends."""
    options = {"poll_interval": 0.05, "scheduler": False, "handle_signals": False, **options}
    worker = Worker(**options)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        yield worker
    finally:
        worker.stop()
        thread.join(20)
        assert not thread.is_alive()


def status_of(job_id: str) -> JobStatus:
    return jobmill.get(job_id).status


@pytest.fixture
def ledger(tmp_path: Path) -> str:
    return str(tmp_path / "ledger.txt")


def test_burst_runs_sync_and_async_jobs_then_returns(configured: Store) -> None:
    ids = [WorkerNoopJob.later() for _ in range(5)] + [WorkerAsyncNoopJob.later()]

    worker = burst(concurrency=3)

    assert [status_of(job_id) for job_id in ids] == [JobStatus.COMPLETED] * 6
    assert worker.processed == 6


def test_claims_by_priority_then_run_at_then_id(configured: Store, ledger: str) -> None:
    past = utcnow() - timedelta(minutes=1)
    WorkerRecordJob.set(priority=0).later(ledger=ledger, tag="low")
    WorkerRecordJob.set(priority=5, run_at=past).later(ledger=ledger, tag="high-early")
    WorkerRecordJob.set(priority=5).later(ledger=ledger, tag="high-late")
    WorkerRecordJob.set(priority=-3).later(ledger=ledger, tag="lowest")
    WorkerRecordJob.set(priority=0).later(ledger=ledger, tag="low-second")

    burst(concurrency=1)

    order = [line.split()[0] for line in read_lines(ledger)]
    assert order == ["high-early", "high-late", "low", "low-second", "lowest"]


def test_serves_only_its_queues(configured: Store, ledger: str) -> None:
    mail = WorkerRecordJob.set(queue="mail").later(ledger=ledger, tag="mail")
    sms = WorkerRecordJob.set(queue="sms").later(ledger=ledger, tag="sms")
    other = WorkerRecordJob.set(queue="reports").later(ledger=ledger, tag="reports")

    burst(queues="mail,sms")

    assert (status_of(mail), status_of(sms)) == (JobStatus.COMPLETED, JobStatus.COMPLETED)
    assert status_of(other) is JobStatus.PENDING


def test_leaves_jobs_it_cannot_run_pending(configured: Store) -> None:
    [unknown] = configured.enqueue(
        [NewJobs("WorkerNotDeployedHere", "default", 0, 1, None, ids=[new_job_id()], params=[None])]
    )
    known = WorkerNoopJob.later()

    burst()

    assert status_of(known) is JobStatus.COMPLETED
    assert status_of(unknown) is JobStatus.PENDING
    assert jobmill.get(unknown).attempts == 0


def test_a_sqlite_row_whose_params_are_not_json_fails_naming_it_and_the_rest_run(
    sqlite_configured: Store, ledger: str
) -> None:
    bad = WorkerRecordJob.later(ledger=ledger, tag="bad")
    good = WorkerRecordJob.later(ledger=ledger, tag="good")
    with sqlite_configured.engine.begin() as conn:
        conn.execute(text("UPDATE jobs SET params = '{count: 5}' WHERE id = :id"), {"id": bad})

    burst()

    assert status_of(good) is JobStatus.COMPLETED
    failed = jobmill.get(bad)
    assert failed.status is JobStatus.FAILED
    assert "params: '{count: 5}' is not valid JSON (Expecting property name" in (failed.error or "")


def test_scheduled_job_waits_for_its_run_at(configured: Store, ledger: str) -> None:
    job_id = WorkerRecordJob.set(delay=2.0).later(ledger=ledger, tag="later")

    burst()
    assert status_of(job_id) is JobStatus.PENDING  # burst does not wait for it

    with running_worker():
        record = wait_until(lambda: (job := jobmill.get(job_id)).status == "completed" and job)
    assert record.started_at >= record.run_at


def test_flaky_job_succeeds_on_its_third_attempt_and_keeps_each_error(
    configured: Store, ledger: str
) -> None:
    job_id = WorkerFlakyJob.later(ledger=ledger)

    with running_worker():
        wait_until(lambda: status_of(job_id) == "completed")

    record = jobmill.get(job_id)
    assert (record.attempts, record.result, record.error) == (3, "ok on attempt 3", None)
    failures = [e for e in jobmill.history(job_id) if e.kind == "attempt_failed"]
    assert [(e.attempt, e.error) for e in failures] == [
        (1, "ConnectionError: flaky on attempt 1"),
        (2, "ConnectionError: flaky on attempt 2"),
    ]
    assert all("Traceback" in (e.traceback or "") for e in failures)
    assert read_lines(ledger) == ["attempt 1", "attempt 2", "attempt 3"]


def test_backoff_method_decides_when_the_retry_runs(configured: Store) -> None:
    job_id = WorkerBackoffJob.later()
    before = utcnow()

    burst()

    record = jobmill.get(job_id)
    assert (record.status, record.attempts) == (JobStatus.PENDING, 1)
    assert before + timedelta(seconds=99) < record.run_at < utcnow() + timedelta(seconds=101)


@pytest.mark.parametrize("job_class", [WorkerDiscardJob, WorkerRetryOnJob])
def test_discard_on_and_retry_on_fail_at_once(configured: Store, job_class: Any) -> None:
    job_id = job_class.later()

    burst()

    record = jobmill.get(job_id)
    assert (record.status, record.attempts) == (JobStatus.FAILED, 1)


def test_retry_brings_a_failed_job_back_and_keeps_its_history(
    configured: Store, ledger: str
) -> None:
    job_id = WorkerRecordJob.later(ledger=ledger, tag="x", fail=True)
    burst()
    assert status_of(job_id) is JobStatus.FAILED

    jobmill.retry(job_id)
    burst()

    record = jobmill.get(job_id)
    assert (record.status, record.attempts) == (JobStatus.FAILED, 2)
    kinds = [event.kind for event in jobmill.history(job_id)]
    assert kinds.count("failed") == 2
    assert "retried" in kinds


def test_async_timeout_fails_the_attempt(configured: Store, ledger: str) -> None:
    job_id = WorkerAsyncSleepJob.set(timeout=0.2).later(ledger=ledger, seconds=30)

    burst()

    record = jobmill.get(job_id)
    assert record.status is JobStatus.FAILED
    assert record.error is not None and "JobTimeout" in record.error


def test_sync_timeout_interrupts_pure_python(configured: Store) -> None:
    job_id = WorkerBusyLoopJob.later()

    burst()

    record = jobmill.get(job_id)
    assert record.status is JobStatus.FAILED
    assert record.error is not None and "JobTimeout" in record.error
    assert record.duration is not None and record.duration < 5


def test_cancel_a_pending_job(configured: Store, ledger: str) -> None:
    job_id = WorkerRecordJob.later(ledger=ledger, tag="never")
    jobmill.cancel(job_id)

    burst()

    assert status_of(job_id) is JobStatus.CANCELLED
    assert read_lines(ledger) == []


def test_cancel_a_running_sync_job(configured: Store, ledger: str) -> None:
    job_id = WorkerCooperativeJob.later(ledger=ledger, seconds=30)

    with running_worker(lock_timeout=0.8):
        wait_until(lambda: read_lines(ledger) == ["started"])
        jobmill.cancel(job_id)
        wait_until(lambda: status_of(job_id) == "cancelled")

    kinds = [event.kind for event in jobmill.history(job_id)]
    assert "cancel_requested" in kinds and kinds[-1] == "cancelled"


def test_cancel_a_running_async_job(configured: Store, ledger: str) -> None:
    job_id = WorkerAsyncSleepJob.later(ledger=ledger, seconds=30)

    with running_worker(lock_timeout=0.8):
        wait_until(lambda: status_of(job_id) == "running")
        jobmill.cancel(job_id)
        wait_until(lambda: status_of(job_id) == "cancelled", timeout=5)


def test_chain_with_a_failing_link_cancels_the_rest(configured: Store, ledger: str) -> None:
    first, second, third = jobmill.chain(
        WorkerRecordJob.step(ledger=ledger, tag="a"),
        WorkerRecordJob.step(ledger=ledger, tag="b", fail=True),
        WorkerRecordJob.step(ledger=ledger, tag="c"),
    )

    burst(concurrency=4)

    assert [status_of(i) for i in (first, second, third)] == ["completed", "failed", "cancelled"]
    assert jobmill.get(third).error == f"dependency {second} ended failed"
    assert [line.split()[0] for line in read_lines(ledger)] == ["a", "b"]


def test_dependents_see_upstream_results(configured: Store, ledger: str) -> None:
    first, second = jobmill.chain(
        WorkerRecordJob.step(ledger=ledger, tag="up"),
        WorkerRecordJob.step(ledger=ledger, tag="down"),
    )

    burst(concurrency=2)

    upstream = jobmill.get(second).result["upstream"]
    assert upstream == {first: jobmill.get(first).result}


def test_unique_key_holds_under_concurrent_enqueues(configured: Store, ledger: str) -> None:
    ids: list[str] = []
    start = threading.Barrier(4)

    def enqueue() -> None:
        start.wait()
        ids.append(WorkerRecordJob.set(unique_key="only-one").later(ledger=ledger, tag="u"))

    threads = [threading.Thread(target=enqueue) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    burst(concurrency=4)

    assert len(set(ids)) == 1
    assert len(read_lines(ledger)) == 1
    # Once that job finished, the key is free again.
    assert WorkerRecordJob.set(unique_key="only-one").later(ledger=ledger, tag="u") != ids[0]


def test_progress_is_recorded(configured: Store, ledger: str) -> None:
    job_id = WorkerProgressJob.later(ledger=ledger)

    burst()

    progress = [e.progress for e in jobmill.history(job_id) if e.kind == "progress"]
    assert progress == [25, 50, 75, 100]
    assert jobmill.get(job_id).progress == 100


def test_enqueue_in_this_process_wakes_the_worker(configured: Store, tmp_path: Path) -> None:
    trace = PumpTrace(tmp_path / "pump.trace")
    trace.watch(configured.engine)
    # Polling once a minute: each job is found by a wake-up, enqueued only once
    # the worker has looked and found nothing (its first claim, the look after
    # the job before).
    with running_worker(poll_interval=60):
        trace.wait_for_a_look_after(None)
        for _ in range(3):
            job_id = WorkerNoopJob.later()
            wait_until(lambda job_id=job_id: status_of(job_id) == "completed", timeout=10)
            trace.wait_for_a_look_after(jobmill.get(job_id).completed_at)


def test_worker_row_while_running_and_gone_after(configured: Store) -> None:
    with running_worker(queues=["a", "b"], concurrency=3) as worker:
        [row] = wait_until(lambda: configured.list_workers())
        assert (row.id, row.queues, row.concurrency) == (worker.id, ("a", "b"), 3)
    assert configured.list_workers() == []


def test_long_job_keeps_its_lock_while_others_rescue(configured: Store, ledger: str) -> None:
    job_id = WorkerSlowJob.later(ledger=ledger, tag="long", seconds=2)
    stop_rescuing = threading.Event()

    def rescuer() -> None:  # another worker's duty, run as often as it can
        while not stop_rescuing.is_set():
            configured.rescue_expired()
            stop_rescuing.wait(0.05)

    other = threading.Thread(target=rescuer)
    other.start()
    try:
        with running_worker(lock_timeout=0.6):
            wait_until(lambda: status_of(job_id) == "completed")
    finally:
        stop_rescuing.set()
        other.join()

    assert jobmill.get(job_id).attempts == 1
    assert [line.split()[0] for line in read_lines(ledger)] == ["start", "end"]


def test_lost_lock_is_noticed_and_the_late_result_discarded(configured: Store, ledger: str) -> None:
    job_id = WorkerSlowJob.later(ledger=ledger, tag="fenced", seconds=1.5)

    with running_worker(lock_timeout=30, concurrency=1) as worker:
        wait_until(lambda: read_lines(ledger))
        # As if the worker had paused past its lock: another rescues and finishes it.
        later = utcnow() + timedelta(minutes=5)
        configured.rescue_expired(now=later)
        [taken] = configured.claim_jobs("worker:other", 1, 30, now=later)
        assert taken.id == job_id and taken.attempts == 2
        configured.record_outcome(
            jobmill.outcomes.Lock.of(taken),
            jobmill.outcomes.Outcome(JobStatus.COMPLETED, result={"by": "other"}),
        )
        wait_until(lambda: worker.processed == 1)

    record = jobmill.get(job_id)
    assert (record.status, record.result, record.attempts) == ("completed", {"by": "other"}, 2)
    assert [e.kind for e in jobmill.history(job_id)].count("completed") == 1


def test_stop_lets_the_running_job_finish(configured: Store, ledger: str) -> None:
    job_id = WorkerSlowJob.later(ledger=ledger, tag="finish", seconds=0.5)

    with running_worker(grace_period=10):
        wait_until(lambda: read_lines(ledger))

    assert status_of(job_id) is JobStatus.COMPLETED


def test_stop_releases_jobs_still_running_after_the_grace_period(
    configured: Store, ledger: str
) -> None:
    sync_id = WorkerCooperativeJob.later(ledger=ledger, seconds=30)
    async_id = WorkerAsyncSleepJob.later(ledger=ledger, seconds=30)

    with running_worker(grace_period=0.2, concurrency=2):
        wait_until(lambda: status_of(sync_id) == "running" and status_of(async_id) == "running")

    for job_id in (sync_id, async_id):
        record = jobmill.get(job_id)
        assert (record.status, record.attempts, record.worker_id) == ("pending", 0, None)
        assert "released" in [event.kind for event in jobmill.history(job_id)]


def test_reconcile_releases_jobs_claimed_without_an_answer(configured: Store) -> None:
    job_id = WorkerNoopJob.later()
    worker = Worker(scheduler=False, handle_signals=False)
    # A claim committed but its answer never arrived (lost connection).
    configured.claim_jobs(worker.id, 1, 30)
    from jobmill.worker.loop import ClaimLoop

    loop = ClaimLoop(
        configured,
        worker.id,
        registry.registered(),
        queues=None,
        concurrency=1,
        prefetch=0,
        lock_timeout=30,
        poll_interval=1,
        progress_interval=0,
        burst=True,
    )
    loop.pump.reconcile()

    record = jobmill.get(job_id)
    assert (record.status, record.attempts) == ("pending", 0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"concurrency": 0}, "concurrency must be an integer >= 1, got 0"),
        ({"lock_timeout": -1}, "lock_timeout must be a positive number of seconds, got -1"),
        ({"grace_period": -1}, "grace_period must be a number of seconds >= 0, got -1"),
        ({"queues": "a,,b"}, "queues must be non-empty queue names, got 'a,,b'"),
    ],
)
def test_invalid_options_are_named(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as error:
        Worker(**options)
    assert str(error.value) == message


def test_a_worker_without_jobs_refuses_to_start(
    configured: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "_jobs", {})

    with pytest.raises(jobmill.ConfigurationError, match="no jobs are registered"):
        burst()


def add_due_cron_entry(store: Store, ledger: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            insert(cron_jobs).values(
                name="worker-every-minute",
                job_name="WorkerRecordJob",
                cron_expression="* * * * *",
                params={"ledger": ledger, "tag": "cron"},
                next_run_at=utcnow() - timedelta(seconds=1),
            )
        )


def test_the_cron_scheduler_runs_inside_the_worker(configured: Store, ledger: str) -> None:
    add_due_cron_entry(configured, ledger)

    with running_worker(scheduler=True):
        wait_until(lambda: read_lines(ledger))

    [fired] = configured.list_jobs()
    assert (fired.cron_job_id, fired.status) == (1, JobStatus.COMPLETED)


def test_no_scheduler_means_no_cron_jobs(configured: Store, ledger: str) -> None:
    add_due_cron_entry(configured, ledger)

    burst()

    assert configured.list_jobs() == []


def test_postgres_notify_wakes_an_idle_worker(pg_schema_url: str, tmp_path: Path) -> None:
    jobmill.configure(database_url=pg_schema_url, auto_upgrade=True)
    trace = PumpTrace(tmp_path / "pump.trace")
    trace.watch(runtime.get_store().engine)
    elsewhere = Store.from_url(pg_schema_url)  # another process's store, as far as wake-ups go
    try:
        with running_worker(poll_interval=60):
            trace.wait_for_a_look_after(None)  # its first claim is over: only NOTIFY wakes it
            [job_id] = elsewhere.enqueue([WorkerNoopJob.set().build(None)])
            wait_until(lambda: status_of(job_id) == "completed", timeout=10)
    finally:
        elsewhere.dispose()
        runtime.reset()
