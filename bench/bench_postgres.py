"""PostgreSQL: claim throughput beside a small and a large history of finished
jobs, and enqueue-to-start latency with an idle worker woken by NOTIFY.

Enqueueing one by one and in bulk is measured on both databases by
``bench_enqueue``.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import create_engine, text

from jobmill import Job, JobStatus
from jobmill.clock import utcnow
from jobmill.outcomes import Lock, Outcome
from jobmill.store import Store
from jobmill.store.dialects import NOTIFY_CHANNEL_SQL
from jobmill.store.listen import PostgresListener

from .databases import fresh_database
from .report import PG_URL, Report, stopwatch

HISTORIES = (10_000, 1_000_000)
ROUNDS = 5
BATCHES_PER_ROUND = 20
CLAIM_BATCH = 100
CYCLES_PER_ROUND = 100
PENDING = ROUNDS * (BATCHES_PER_ROUND * CLAIM_BATCH + CYCLES_PER_ROUND) + 1_000
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
    measure_claims(report)
    report.section("PostgreSQL enqueue-to-start latency, idle worker in another process")
    measure_latency(report)


def measure_claims(report: Report) -> None:
    """Claim rates beside each history size, measured in alternating rounds so
    that both see the same machine load."""
    with contextlib.ExitStack() as stack:
        stores = {history: stack.enter_context(schema_store()) for history in HISTORIES}
        for history, store in stores.items():
            with stopwatch() as loading:
                load_history(store, history)
                load_pending(store, PENDING)
            print(f"  loaded {history:,} finished + {PENDING:,} pending in {loading():.1f} s")
        batch_time = dict.fromkeys(HISTORIES, 0.0)
        cycle_time = dict.fromkeys(HISTORIES, 0.0)
        for _ in range(ROUNDS):
            for history, store in stores.items():
                batch_time[history] += claim_batches(store, BATCHES_PER_ROUND)
                cycle_time[history] += claim_and_complete(store, CYCLES_PER_ROUND)
    batch_rates = {h: ROUNDS * BATCHES_PER_ROUND * CLAIM_BATCH / t for h, t in batch_time.items()}
    cycle_rates = {h: ROUNDS * CYCLES_PER_ROUND / t for h, t in cycle_time.items()}
    small = HISTORIES[0]
    for history in HISTORIES:
        note = (
            "baseline" if history == small else f"{batch_rates[history] / batch_rates[small]:.2f}x"
        )
        report.row(
            f"claim_jobs, batches of {CLAIM_BATCH}, {history:,} finished",
            batch_rates[history],
            "rows/s",
            note,
        )
    for history in HISTORIES:
        note = (
            "baseline" if history == small else f"{cycle_rates[history] / cycle_rates[small]:.2f}x"
        )
        report.row(
            f"claim + complete one job, {history:,} finished", cycle_rates[history], "jobs/s", note
        )
    print(f"  ({ROUNDS} alternating rounds; 1.00x = the history size makes no difference)")


@contextlib.contextmanager
def schema_store() -> Iterator[Store]:
    """A store on a fresh PostgreSQL schema of its own, dropped afterwards."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    store = Store.from_url(f"{PG_URL}?options=-csearch_path%3D{schema}", pool_size=2)
    try:
        yield store
    finally:
        store.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


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
    dispatch = BenchLatencyJob.set(queue="default")
    store.enqueue([dispatch.build({"n": n}) for n in range(count)])
    with store.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE jobs"))


def claim_batches(store: Store, batches: int) -> float:
    """Seconds to claim ``batches`` batches of CLAIM_BATCH jobs."""
    with stopwatch() as elapsed:
        for _ in range(batches):
            assert len(store.claim_jobs("bench-claimer", CLAIM_BATCH, 300)) == CLAIM_BATCH
    return elapsed()


def claim_and_complete(store: Store, count: int) -> float:
    """Seconds to claim and complete ``count`` jobs one at a time."""
    with stopwatch() as elapsed:
        for _ in range(count):
            [record] = store.claim_jobs("bench-cycler", 1, 300)
            store.record_outcome(Lock.of(record), Outcome(JobStatus.COMPLETED, result=1))
    return elapsed()


def measure_latency(report: Report) -> None:
    with fresh_database("postgresql") as (url, store):
        floor = statistics.median(notify_round_trip(url))
        with worker_process(url) as proc:
            wait_for_worker(store, proc)
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


@contextlib.contextmanager
def worker_process(url: str) -> Iterator[subprocess.Popen[bytes]]:
    """``jobmill worker`` polling only every 5 s, so wake-ups come from NOTIFY.

    It runs in an empty directory, so no ``[tool.jobmill]`` of a pyproject.toml
    there adds job modules of its own.
    """
    env = {
        **os.environ,
        "JOBMILL_DATABASE_URL": url,
        "JOBMILL_POLL_INTERVAL": "5",
        "PYTHONPATH": os.pathsep.join([str(REPOSITORY), os.environ.get("PYTHONPATH", "")]),
    }
    command = [*WORKER_COMMAND, "--import", "bench.bench_postgres", "--queues", "bench-latency"]
    command += ["--concurrency", "2", "--no-scheduler", "--log-level", "warning"]
    with tempfile.TemporaryDirectory() as workdir:
        proc = subprocess.Popen(command, env=env, cwd=workdir)
        try:
            yield proc
        finally:
            proc.terminate()
            proc.wait(30)


def wait_for_worker(store: Store, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not store.list_workers():
        if proc.poll() is not None:
            raise RuntimeError(f"the benchmark worker exited with status {proc.returncode}")
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
