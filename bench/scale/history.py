"""Claims beside a small and a large history of finished jobs (10,000 and
1,000,000), through ``Store.claim_jobs``: rows claimed in batches of 100, and
claim + complete one job at a time (``Store.record_outcome``), as a worker does.

The finished rows are written straight by SQL, then the table is analysed,
so that only the history's size differs (the backlog bench covers plans
without statistics). Both sizes are measured in alternating rounds, so both
see the same machine load; 1.00x means the history makes no difference.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from sqlalchemy import text

from jobmill.outcomes import Lock, completed
from jobmill.store import Store

from ..config import Counts
from ..peers.jobmill_peer import configured, enqueue_many, jobmill_database
from ..results import Figure

ROUNDS = 5
BATCH = 100
WORKER = "bench-history"

SQLITE_HISTORY = (
    "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < :count)"
    " INSERT INTO jobs (id, job_name, queue, status, priority, params, result, progress,"
    " attempts, max_attempts, run_at, enqueued_at, started_at, completed_at, updated_at)"
    " SELECT printf('h%035d', n), 'BenchHistoryJob', 'default', 'completed', 0, '{\"n\": 1}',"
    " 'null', 100, 1, 1, t, t, t, t, t"
    " FROM (SELECT n, datetime('now', '-' || n || ' seconds') AS t FROM g)"
)
POSTGRES_HISTORY = (
    "INSERT INTO jobs (id, job_name, queue, status, priority, params, result, progress,"
    " attempts, max_attempts, run_at, enqueued_at, started_at, completed_at, updated_at)"
    " SELECT 'h' || lpad(g::text, 35, '0'), 'BenchHistoryJob', 'default', 'completed', 0,"
    " '{\"n\": 1}', 'null', 100, 1, 1, t, t, t, t, t"
    " FROM generate_series(1, :count) AS g,"
    " LATERAL (SELECT now() - g * interval '1 second') AS times(t)"
)


def run(counts: Counts, workdir: Path, backend: str) -> list[Figure]:
    claims = counts.history_claims // ROUNDS // BATCH * BATCH
    cycles = claims // 10
    seconds = {(kind, size): 0.0 for kind in ("claims", "cycles") for size in counts.history}
    with contextlib.ExitStack() as stack:
        stores = {}
        for label, size in zip(("small", "large"), counts.history, strict=True):
            url = stack.enter_context(jobmill_database(backend, f"history_{label}", workdir))
            load(url, backend, size, ROUNDS * (claims + cycles) + 1_000)
            stores[size] = Store.from_url(url, pool_size=2)
            stack.callback(stores[size].dispose)
        for _ in range(ROUNDS):
            for size, store in stores.items():
                seconds["claims", size] += claim_batches(store, claims // BATCH)
                seconds["cycles", size] += claim_and_complete(store, cycles)
    return figures(backend, counts.history, seconds, ROUNDS * claims, ROUNDS * cycles)


def load(url: str, backend: str, finished: int, pending: int) -> None:
    start = time.perf_counter()
    store = Store.from_url(url, pool_size=1)
    try:
        with store.engine.begin() as conn:
            history = SQLITE_HISTORY if backend == "sqlite" else POSTGRES_HISTORY
            conn.execute(text(history), {"count": finished})
        with configured(url):
            for first in range(0, pending, 20_000):
                enqueue_many(range(first, min(pending, first + 20_000)))
        with store.engine.connect() as conn:
            analyse = "ANALYZE" if backend == "sqlite" else "VACUUM ANALYZE jobs"
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(analyse)
    finally:
        store.dispose()
    took = time.perf_counter() - start
    print(f"loaded {finished:,} finished + {pending:,} pending in {took:.1f} s", flush=True)


def claim_batches(store: Store, batches: int) -> float:
    start = time.perf_counter()
    for _ in range(batches):
        claimed = store.claim_jobs(WORKER, BATCH, 300)
        assert len(claimed) == BATCH, f"claimed {len(claimed)} of {BATCH}"
    return time.perf_counter() - start


def claim_and_complete(store: Store, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        [record] = store.claim_jobs(WORKER, 1, 300)
        store.record_outcome(Lock.of(record), completed(None))
    return time.perf_counter() - start


def figures(
    backend: str,
    sizes: tuple[int, int],
    seconds: dict[tuple[str, int], float],
    claims: int,
    cycles: int,
) -> list[Figure]:
    small, large = sizes
    result = []
    for kind, jobs, unit in (("claims", claims, "rows/s"), ("cycles", cycles, "jobs/s")):
        rate = {size: jobs / seconds[kind, size] for size in sizes}
        for label, size in (("small", small), ("large", large)):
            detail = f"{size:,} finished"
            if size == large:
                detail += f" ({rate[large] / rate[small]:.2f}x)"
            result.append(
                Figure(f"history_{kind}_{label}", "jobmill", backend, rate[size], unit, detail)
            )
    return result
