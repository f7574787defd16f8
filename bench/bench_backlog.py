"""SQLite beside a small and a large history of finished jobs: enqueue, claims in
batches, and claim + complete one at a time (PostgreSQL: ``bench_postgres``).

The two history sizes are measured in alternating rounds so that both see the
same machine load; 1.00x means the history makes no difference.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text

from jobmill import JobStatus
from jobmill.outcomes import Lock, Outcome
from jobmill.store import Store

from .bench_enqueue import BenchNoopJob
from .report import Report, stopwatch

HISTORIES = (10_000, 1_000_000)
ROUNDS = 5
ENQUEUES_PER_ROUND = 200
BATCHES_PER_ROUND = 10
CLAIM_BATCH = 100
CYCLES_PER_ROUND = 100
PENDING = ROUNDS * (BATCHES_PER_ROUND * CLAIM_BATCH + CYCLES_PER_ROUND) + 1_000


def run(report: Report, backends: list[str]) -> None:
    report.section("SQLite beside a history of finished jobs")
    timings: dict[str, dict[int, float]] = {
        name: dict.fromkeys(HISTORIES, 0.0) for name in ("enqueue", "batches", "cycles")
    }
    with contextlib.ExitStack() as stack:
        stores = {history: stack.enter_context(sqlite_store()) for history in HISTORIES}
        for history, store in stores.items():
            with stopwatch() as loading:
                load_history(store, history)
                store.enqueue([BenchNoopJob.set().build({"n": n}) for n in range(PENDING)])
            print(f"  loaded {history:,} finished + {PENDING:,} pending in {loading():.1f} s")
        for _ in range(ROUNDS):
            for history, store in stores.items():
                timings["enqueue"][history] += enqueue_one_by_one(store, ENQUEUES_PER_ROUND)
                timings["batches"][history] += claim_batches(store, BATCHES_PER_ROUND)
                timings["cycles"][history] += claim_and_complete(store, CYCLES_PER_ROUND)
    counts = {
        "enqueue": ("enqueue one job per transaction", ENQUEUES_PER_ROUND, "jobs/s"),
        "batches": (
            f"claim_jobs, batches of {CLAIM_BATCH}",
            BATCHES_PER_ROUND * CLAIM_BATCH,
            "rows/s",
        ),
        "cycles": ("claim + complete one job", CYCLES_PER_ROUND, "jobs/s"),
    }
    for name, (label, per_round, unit) in counts.items():
        rates = {h: ROUNDS * per_round / t for h, t in timings[name].items()}
        small = HISTORIES[0]
        for history in HISTORIES:
            note = "baseline" if history == small else f"{rates[history] / rates[small]:.2f}x"
            report.row(f"{label}, {history:,} finished", rates[history], unit, note)


@contextlib.contextmanager
def sqlite_store() -> Iterator[Store]:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.from_url(f"sqlite:///{Path(tmp) / 'backlog.db'}")
        try:
            yield store
        finally:
            store.dispose()


def load_history(store: Store, count: int) -> None:
    """Completed jobs written straight by SQL (their ids sort before UUIDv7 ids)."""
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < :count)"
                " INSERT INTO jobs (id, job_name, queue, status, priority, params, result,"
                " progress, attempts, max_attempts, run_at, enqueued_at, started_at,"
                " completed_at, updated_at)"
                " SELECT printf('h%035d', n), 'BenchHistoryJob', 'default', 'completed', 0,"
                " '{\"n\": 1}', '1', 100, 1, 3, t, t, t, t, t"
                " FROM (SELECT n, datetime('now', '-' || n || ' seconds') AS t FROM g)"
            ),
            {"count": count},
        )
    with store.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")


def enqueue_one_by_one(store: Store, count: int) -> float:
    dispatch = BenchNoopJob.set(queue="bench-enqueue")  # a queue nobody claims here
    with stopwatch() as elapsed:
        for n in range(count):
            store.enqueue([dispatch.build({"n": n})])
    return elapsed()


def claim_batches(store: Store, batches: int) -> float:
    with stopwatch() as elapsed:
        for _ in range(batches):
            claimed = store.claim_jobs("bench-claimer", CLAIM_BATCH, 300, queues=["default"])
            assert len(claimed) == CLAIM_BATCH
    return elapsed()


def claim_and_complete(store: Store, count: int) -> float:
    with stopwatch() as elapsed:
        for _ in range(count):
            [record] = store.claim_jobs("bench-cycler", 1, 300, queues=["default"])
            store.record_outcome(Lock.of(record), Outcome(JobStatus.COMPLETED, result=1))
    return elapsed()
