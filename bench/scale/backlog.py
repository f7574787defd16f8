"""Claims and a worker with a small and a large backlog of pending jobs (3,000
and 100,000) on a fresh database, as a burst leaves it: no manual ANALYZE.

- ``backlog_claim``: ms per ``Store.claim_jobs`` of 10 rows (median of 20);
- ``backlog_worker``: ``jobmill worker`` throughput over its first
  ``backlog_window`` jobs (or 20 s, whichever comes first).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from jobmill.store import Store

from ..config import Counts
from ..peers.jobmill_peer import enqueue_many
from ..results import Figure
from ..workload import run_worker
from . import jobmill_peer

CLAIMS = 20
CLAIM_SIZE = 10
WINDOW_SECONDS = 20.0


def run(counts: Counts, workdir: Path, backend: str) -> list[Figure]:
    peer = jobmill_peer(backend, workdir)
    figures = []
    for label, pending in zip(("small", "large"), counts.backlog, strict=True):
        with peer.database():
            with peer.client():
                for first in range(0, pending, 20_000):
                    enqueue_many(range(first, min(pending, first + 20_000)))
            cost = claim_cost(peer.env["JOBMILL_DATABASE_URL"])
            command = peer.worker_command(False)
            window = counts.backlog_window
            marks, within = run_worker(peer, command, f"backlog_{label}", window, WINDOW_SECONDS)
        ran = f"first {window:,} jobs" if within else f"{len(marks.starts):,} jobs in 20 s"
        figures += [
            Figure(
                f"backlog_claim_{label}",
                "jobmill",
                backend,
                cost,
                "ms",
                f"{pending:,} pending, {CLAIM_SIZE} rows per claim",
            ),
            Figure(
                f"backlog_worker_{label}",
                "jobmill",
                backend,
                marks.rate(),
                "jobs/s",
                f"{pending:,} pending, {ran}",
            ),
        ]
    return figures


def claim_cost(url: str) -> float:
    """Median ms of CLAIMS claims of CLAIM_SIZE rows."""
    store = Store.from_url(url, pool_size=1)
    try:
        samples = []
        for _ in range(CLAIMS):
            start = time.perf_counter()
            claimed = store.claim_jobs("bench-backlog", CLAIM_SIZE, 300)
            samples.append((time.perf_counter() - start) * 1e3)
            assert len(claimed) == CLAIM_SIZE, f"claimed {len(claimed)} of {CLAIM_SIZE}"
    finally:
        store.dispose()
    return statistics.median(samples)
