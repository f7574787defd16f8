"""Worker throughput (no-op jobs per second, 1 and 4 at once) and enqueue-to-start
latency, each beside a baseline measured in the same run.

- Throughput baseline: the store's bare claim-then-complete cycle, one job at a
  time in one thread (what any worker must do per job, without running it).
- Latency baseline: one ``later()`` call (one enqueue transaction). Latency is
  measured from the rows (``started_at - enqueued_at``) for a worker in this
  process (woken by the in-process notification) and a worker process (found
  by polling every ``poll_interval``).
"""

from __future__ import annotations

import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from jobmill import Job, JobStatus, Worker, runtime
from jobmill.outcomes import Lock, Outcome
from jobmill.store import Store

from .databases import fresh_database
from .report import Report, stopwatch

THROUGHPUT_JOBS = 2_000
BASELINE_CYCLES = 500
LATENCY_JOBS = 50
POLL_INTERVAL = 0.1
REPOSITORY = Path(__file__).resolve().parent.parent
# The repository's settings import the example's jobs (as bin/jobs does).
EXAMPLES = REPOSITORY / "examples"


class BenchWorkerParams(BaseModel):
    n: int


class BenchWorkerNoopJob(Job[BenchWorkerParams, int]):
    queue = "bench-worker"

    def perform(self, params: BenchWorkerParams) -> int:
        return params.n


class BenchWorkerAsyncNoopJob(Job[BenchWorkerParams, int]):
    queue = "bench-worker"

    async def perform(self, params: BenchWorkerParams) -> int:
        return params.n


def run(report: Report, backends: list[str]) -> None:
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    for backend in backends:
        report.section(f"Worker throughput — {backend}")
        with fresh_database(backend) as (_, store):
            baseline = claim_complete_cycles(store)
        report.row("baseline: bare claim + complete, one job at a time", baseline, "jobs/s")
        for job_class, kind in ((BenchWorkerNoopJob, "sync"), (BenchWorkerAsyncNoopJob, "async")):
            for concurrency in (1, 4):
                with fresh_database(backend):
                    rate = worker_throughput(job_class, concurrency)
                report.row(
                    f"worker, {kind} no-op jobs, concurrency {concurrency}",
                    rate,
                    "jobs/s",
                    f"{rate / baseline:.2f}x baseline",
                )
        if backend == "sqlite":
            report.section("Enqueue-to-start latency — sqlite")
            with fresh_database(backend) as (url, _):
                measure_latency(report, url)


def claim_complete_cycles(store: Store) -> float:
    BenchWorkerNoopJob.later_many([{"n": n} for n in range(BASELINE_CYCLES)])
    with stopwatch() as elapsed:
        for _ in range(BASELINE_CYCLES):
            [record] = store.claim_jobs("bench", 1, 300, queues=["bench-worker"])
            store.record_outcome(Lock.of(record), Outcome(JobStatus.COMPLETED))
    return BASELINE_CYCLES / elapsed()


def worker_throughput(job_class: type[Job[BenchWorkerParams, int]], concurrency: int) -> float:
    job_class.later_many([{"n": n} for n in range(THROUGHPUT_JOBS)])
    worker = Worker(
        ["bench-worker"], concurrency=concurrency, burst=True, scheduler=False, handle_signals=False
    )
    with stopwatch() as elapsed:
        worker.run()
    assert worker.processed == THROUGHPUT_JOBS, worker.processed
    return THROUGHPUT_JOBS / elapsed()


def measure_latency(report: Report, url: str) -> None:
    # The baseline's jobs go to a queue no worker here serves.
    unserved = BenchWorkerNoopJob.set(queue="bench-unserved")
    with stopwatch() as elapsed:
        for n in range(LATENCY_JOBS):
            unserved.later(n=n)
    enqueue_ms = elapsed() / LATENCY_JOBS * 1000
    report.row("baseline: one later() call", enqueue_ms, "ms")
    store = runtime.get_store()
    in_process = _latency_in_process(store)
    _latency_row(report, "worker in this process (in-process wake-up)", in_process, enqueue_ms)
    poll_note = f"polling every {POLL_INTERVAL:g} s"
    other = _latency_other_process(store, url)
    _latency_row(report, f"worker process ({poll_note})", other, enqueue_ms)


def _latency_row(report: Report, label: str, samples: list[float], baseline_ms: float) -> None:
    ordered = sorted(samples)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    report.row(f"{label}: p50", p50, "ms", f"{p50 / baseline_ms:.1f}x one later()")
    report.row(f"{label}: p99", p99, "ms", f"{p99 / baseline_ms:.1f}x one later()")


def _latency_in_process(store: Store) -> list[float]:
    worker = Worker(
        ["bench-worker"], concurrency=1, poll_interval=60, scheduler=False, handle_signals=False
    )
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        _wait(lambda: bool(store.list_workers()))
        return _enqueue_and_measure(store)
    finally:
        worker.stop()
        thread.join()


def _latency_other_process(store: Store, url: str) -> list[float]:
    env = {
        **os.environ,
        "JOBMILL_DATABASE_URL": url,
        "PYTHONPATH": os.pathsep.join(
            [str(REPOSITORY), str(EXAMPLES), os.environ.get("PYTHONPATH", "")]
        ),
    }
    command = [sys.executable, "-m", "jobmill", "worker", "--import", "bench.bench_worker"]
    command += ["--queues", "bench-worker", "--no-scheduler", "--log-level", "warning"]
    command += ["--poll-interval", str(POLL_INTERVAL), "--concurrency", "1"]
    process = subprocess.Popen(command, env=env, cwd=REPOSITORY)
    try:
        _wait(lambda: bool(store.list_workers()), timeout=120)
        return _enqueue_and_measure(store)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)


def _enqueue_and_measure(store: Store) -> list[float]:
    samples = []
    for n in range(LATENCY_JOBS):
        # Enqueue at a random moment of the worker's polling cycle.
        time.sleep(random.uniform(0, POLL_INTERVAL))
        job_id = BenchWorkerNoopJob.later(n=n)
        _wait(lambda: store.get_job(job_id).status == "completed")  # noqa: B023
        record = store.get_job(job_id)
        assert record.started_at is not None
        samples.append((record.started_at - record.enqueued_at).total_seconds())
    return samples


def _wait(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"benchmark condition not met within {timeout} s")
        time.sleep(0.001)
