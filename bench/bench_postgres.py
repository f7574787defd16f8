"""PostgreSQL: claim throughput beside a small and a large history of finished
jobs, and enqueue-to-start latency with an idle worker woken by NOTIFY.

Enqueueing one by one and in bulk is measured on both databases by
``bench_enqueue``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import text

from jobmill import Job, JobStatus
from jobmill.clock import utcnow
from jobmill.store import Lock, Outcome, Store
from jobmill.store.dialects import NOTIFY_CHANNEL_SQL
from jobmill.store.listen import PostgresListener

from .databases import fresh_database
from .report import Report, stopwatch

HISTORIES = (10_000, 1_000_000)
PENDING = 20_000
CLAIM_BATCH = 100
CYCLES = 1_000
LATENCY_JOBS = 200
REPOSITORY = Path(__file__).resolve().parent.parent
WORKER_COMMAND = [sys.executable, "-m", "jobmill", "worker"]


class BenchLatencyParams(BaseModel):
    n: int


class BenchLatencyJob(Job[BenchLatencyParams, int]):
    queue = "bench-latency"

    def perform(self, params: BenchLatencyParams) -> int:
        return params.n


def run(report: Report, backends: list[str]) -> None:
    if "postgresql" not in backends:
        print("bench_postgres: PostgreSQL is not reachable; skipped", file=sys.stderr)
        return
    report.section("PostgreSQL claims beside a history of finished jobs")
    claim_rates = {history: measure_claims(report, history) for history in HISTORIES}
    small, large = (claim_rates[h] for h in HISTORIES)
    for label, index in (("batches of 100", 0), ("claim + complete, one job each", 1)):
        report.row(
            f"{label}: {HISTORIES[1]:,} vs {HISTORIES[0]:,} finished",
            large[index] / small[index],
            "ratio",
            "1.0 = history size makes no difference",
        )
    report.section("PostgreSQL enqueue-to-start latency, idle worker in another process")
    measure_latency(report)


def measure_claims(report: Report, history: int) -> tuple[float, float]:
    """(rows/s claimed in batches, jobs/s claimed and completed one at a time)."""
    with fresh_database("postgresql") as (_, store):
        with stopwatch() as loading:
            load_history(store, history)
            load_pending(store, PENDING)
        print(f"  loaded {history:,} finished + {PENDING:,} pending in {loading():.1f} s")
        cycle_rate = claim_and_complete(store, CYCLES)
        claimed = 0
        with stopwatch() as elapsed:
            while batch := store.claim_jobs("bench-claimer", CLAIM_BATCH, 300):
                claimed += len(batch)
        batch_rate = claimed / elapsed()
    report.row(f"claim_jobs, batches of {CLAIM_BATCH}, {history:,} finished", batch_rate, "rows/s")
    report.row(f"claim + complete one job, {history:,} finished", cycle_rate, "jobs/s")
    return batch_rate, cycle_rate


def load_history(store: Store, count: int) -> None:
    """Completed jobs written straight by SQL (the ids sort before UUIDv7 ids)."""
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO jobs (id, job_name, queue, status, priority, params, result,"
                " progress, attempts, max_attempts, run_at, enqueued_at, started_at,"
                " completed_at, updated_at)"
                " SELECT 'h' || lpad(g::text, 35, '0'), 'BenchHistoryJob', 'default',"
                " 'completed', 0, '{\"n\": 1}', '1', 100, 1, 3, t, t, t, t, t"
                " FROM generate_series(1, :count) AS g,"
                " LATERAL (SELECT now() - g * interval '1 second') AS times(t)"
            ),
            {"count": count},
        )
    with store.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE jobs"))


def load_pending(store: Store, count: int) -> None:
    BenchLatencyJob.set(queue="default").later_many([{"n": n} for n in range(count)])
    with store.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE jobs"))


def claim_and_complete(store: Store, count: int) -> float:
    with stopwatch() as elapsed:
        for _ in range(count):
            [record] = store.claim_jobs("bench-cycler", 1, 300)
            store.finish_attempt(
                Lock.of(record), record.started_at, Outcome(JobStatus.COMPLETED, result=1)
            )
    return count / elapsed()


def measure_latency(report: Report) -> None:
    with fresh_database("postgresql") as (url, store):
        floor = statistics.median(notify_round_trip(url))
        with worker_process(url):
            wait_for_worker(store)
            timings = [enqueue_and_wait(store, n) for n in range(LATENCY_JOBS)]
    report.row("NOTIFY -> LISTEN round trip, p50 (baseline)", floor * 1e3, "ms")
    for label, samples in (
        ("later() called -> job started", [t[0] for t in timings]),
        ("later() returned (committed) -> job started", [t[1] for t in timings]),
    ):
        p50 = statistics.median(samples)
        p99 = statistics.quantiles(samples, n=100)[98]
        report.row(f"{label}, p50", p50 * 1e3, "ms", f"{p50 / floor:.1f}x baseline")
        report.row(f"{label}, p99", p99 * 1e3, "ms", f"{p99 / floor:.1f}x baseline")
    print(f"  ({LATENCY_JOBS} jobs one at a time; the worker polls only every 5 s)")


def notify_round_trip(url: str, count: int = 200) -> list[float]:
    """Seconds from a committed pg_notify to the listener's callback."""
    arrived = threading.Event()
    listener = PostgresListener(url)
    listener.start(lambda _queue: arrived.set())
    listener.connected.wait(10)
    engine = Store.from_url(url, pool_size=1).engine
    rounds = []
    try:
        for _ in range(count):
            arrived.clear()
            start = time.perf_counter()
            with engine.begin() as conn:
                conn.execute(text(f"SELECT pg_notify({NOTIFY_CHANNEL_SQL}, 'bench-latency')"))
            arrived.wait(5)
            rounds.append(time.perf_counter() - start)
    finally:
        listener.stop()
        engine.dispose()
    return rounds


@contextmanager
def worker_process(url: str) -> Iterator[subprocess.Popen[bytes]]:
    """``jobmill worker`` polling only every 5 s, so wake-ups come from NOTIFY."""
    env = {
        **os.environ,
        "JOBMILL_DATABASE_URL": url,
        "JOBMILL_POLL_INTERVAL": "5",
        "PYTHONPATH": os.pathsep.join([str(REPOSITORY), os.environ.get("PYTHONPATH", "")]),
    }
    command = [*WORKER_COMMAND, "--import", "bench.bench_postgres", "--queues", "bench-latency"]
    command += ["--concurrency", "2", "--no-scheduler"]
    proc = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(30)


def wait_for_worker(store: Store, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not store.list_workers():
        if time.monotonic() > deadline:
            raise RuntimeError("the benchmark worker did not start")
        time.sleep(0.1)
    time.sleep(0.5)  # its LISTEN connection opens right after it registers


def enqueue_and_wait(store: Store, n: int) -> tuple[float, float]:
    """Seconds from calling ``later()``, and from its commit, to the worker's claim."""
    called = utcnow()
    job_id = BenchLatencyJob.later(n=n)
    committed = utcnow()
    deadline = time.monotonic() + 30
    while True:
        record = store.get_job(job_id)
        if record.started_at is not None and record.status is not JobStatus.PENDING:
            started = record.started_at
            return (started - called).total_seconds(), (started - committed).total_seconds()
        if time.monotonic() > deadline:
            raise RuntimeError(f"job {job_id} did not start; is the worker running?")
        time.sleep(0.005)
