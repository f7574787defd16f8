"""Total throughput of ``jobmill worker --processes N`` (4) on one database,
beside one ``jobmill worker``, draining the same queued jobs. With SQLite's
one writer, contention must at least not make N slower than 1."""

from __future__ import annotations

from pathlib import Path

from ..config import Counts
from ..results import Figure
from ..workload import remarks, run_worker
from . import jobmill_peer


def run(counts: Counts, workdir: Path, backend: str) -> list[Figure]:
    peer = jobmill_peer(backend, workdir)
    figures = []
    for key, processes in (("processes_small", 1), ("processes_large", counts.processes)):
        command = peer.worker_command(False)
        if processes > 1:
            command += ["--processes", str(processes)]
        with peer.database():
            with peer.client():
                peer.enqueue_many(range(counts.drain))
            marks, within = run_worker(peer, command, key, counts.drain)
        detail = f"{processes} worker process{'es' if processes > 1 else ''}"
        detail += remarks(marks, counts.drain, within)
        figures.append(Figure(key, "jobmill", backend, marks.rate(), "jobs/s", detail))
    return figures
