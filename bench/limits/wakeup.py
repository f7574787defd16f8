"""Raw enqueue-to-start latency: rows inserted ``latency_interval`` apart, each
until a waiting process (``bench.limits.listener``) has claimed it."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ..config import Counts
from ..marks import ENV as MARKS_ENV
from ..marks import Marks
from ..processes import STOP, running, wait_until, worker_env
from ..results import Figure

QUEUE = "wakeup"  # the listener claims only this queue
CHANNEL = "raw_wakeup"


def measure_wakeup(
    backend: str, target: str, insert: Callable[[int], None], counts: Counts, workdir: Path
) -> list[Figure]:
    """p50 and p99 in ms; ``insert(n)`` commits job ``n`` to QUEUE (and notifies)."""
    marks = Marks(workdir / "wakeup.marks")
    log = workdir / "wakeup.log"
    command = [sys.executable, "-m", "bench.limits.listener", backend, target]
    env = worker_env({MARKS_ENV: str(marks.path)})
    with running(command, env, workdir, log, STOP) as proc:
        insert(-1)
        wait_until(lambda: marks.distinct() >= 1, 60, "raw listener start", proc, log)
        time.sleep(1.0)
        calls = {}
        begin = time.monotonic()
        for n in range(counts.latency):
            time.sleep(max(0.0, begin + n * counts.latency_interval - time.monotonic()))
            calls[n] = time.time()
            insert(n)
        wait_until(lambda: marks.distinct() > counts.latency, 60, "raw wake-ups", proc, log)
    samples = [(marks.starts[n] - called) * 1e3 for n, called in calls.items()]
    how = "poll PRAGMA data_version every 1 ms" if backend == "sqlite" else "LISTEN/NOTIFY"
    detail = f"insert → claimed in another process ({how})"
    return [
        Figure("raw_wakeup_p50", "raw", backend, statistics.median(samples), "ms", detail),
        Figure(
            "raw_wakeup_p99", "raw", backend, statistics.quantiles(samples, n=100)[98], "ms", detail
        ),
    ]
