"""The worker's resident memory after ``counts.memory`` jobs (20,000 and 200,000):
one ``jobmill worker`` on SQLite, fed in chunks so the backlog stays about
the same size throughout (a growing backlog would measure the claims)."""

from __future__ import annotations

import time
from pathlib import Path

from ..config import Counts
from ..marks import ENV as MARKS_ENV
from ..marks import Marks
from ..processes import check, rss_mb, running, worker_env
from ..results import Figure
from . import jobmill_peer

CHUNK = 5_000
BACKLOG = 10_000  # pending jobs kept ahead of the worker, at most


def run(counts: Counts, workdir: Path, backend: str = "sqlite") -> list[Figure]:
    peer = jobmill_peer(backend, workdir)
    small, large = counts.memory
    readings: dict[int, float] = {}
    with peer.database(), peer.client():
        marks = Marks(workdir / "memory.marks")
        log = workdir / "memory.log"
        env = worker_env({**peer.env, MARKS_ENV: str(marks.path)})
        enqueued = min(large, BACKLOG)
        peer.enqueue_many(range(enqueued))
        with running(peer.worker_command(False), env, workdir, log, peer.stop_signal) as proc:
            deadline = time.monotonic() + 60 + large / 50
            while len(readings) < 2:
                done = marks.distinct()
                for mark in (small, large):
                    if done >= mark and mark not in readings:
                        readings[mark] = rss_mb(proc.pid)
                if enqueued < large and enqueued - done < BACKLOG - CHUNK:
                    peer.enqueue_many(range(enqueued, min(large, enqueued + CHUNK)))
                    enqueued = min(large, enqueued + CHUNK)
                check("memory", deadline, proc, log)
                time.sleep(0.05)
    growth = (readings[large] - readings[small]) / readings[small] * 100
    return [
        Figure("memory_small", "jobmill", backend, readings[small], "MiB", f"after {small:,} jobs"),
        Figure(
            "memory_large",
            "jobmill",
            backend,
            readings[large],
            "MiB",
            f"after {large:,} jobs ({growth:+.1f} %)",
        ),
    ]
