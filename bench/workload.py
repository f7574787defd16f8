"""SPEC §10's shared workload, run the same way on every system.

- ``enqueue``: single enqueues (one call per job), then one bulk call;
- ``drain_default`` / ``drain_tuned``: one worker process drains the queued
  jobs; the rate runs from the first job's start to the last's;
- ``latency``: an idle worker in another process; jobs enqueued one at a
  time, ``latency_interval`` apart, from the enqueue call to the job's start.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from .config import Counts
from .marks import ENV as MARKS_ENV
from .marks import Marks
from .peers.base import Peer
from .processes import running, wait_until, worker_env
from .results import Figure

IDLE_BEFORE_LATENCY = 2.0  # seconds an idle worker waits before the paced jobs


def enqueue(peer: Peer, counts: Counts) -> list[Figure]:
    with peer.database():
        seconds = peer.timed_singles(range(counts.single))
        figures = [_figure(peer, "enqueue_one", counts.single / seconds, "jobs/s")]
        if peer.bulk_api is None:
            figures.append(_failed(peer, "enqueue_bulk", "jobs/s", "n/a: no bulk enqueue"))
        else:
            ns = range(counts.single, counts.single + counts.bulk)
            rate = counts.bulk / peer.timed_bulk(ns)
            figures.append(_figure(peer, "enqueue_bulk", rate, "jobs/s", peer.bulk_api))
    return figures


def drain_default(peer: Peer, counts: Counts) -> list[Figure]:
    return [drain(peer, counts, tuned=False)]


def drain_tuned(peer: Peer, counts: Counts) -> list[Figure]:
    return [drain(peer, counts, tuned=True)]


def drain(peer: Peer, counts: Counts, tuned: bool) -> Figure:
    key = "worker_tuned" if tuned else "worker_default"
    detail = peer.tuned_detail if tuned else peer.default_detail
    with peer.database():
        peer.timed_bulk(range(counts.drain))
        marks, within = run_worker(peer, peer.worker_command(tuned), key, counts.drain)
    return _figure(peer, key, marks.rate(), "jobs/s", detail + remarks(marks, counts.drain, within))


def run_worker(
    peer: Peer, command: list[str], name: str, jobs: int, timeout: float | None = None
) -> tuple[Marks, bool]:
    """Run ``command`` until ``jobs`` jobs have started (or ``timeout`` passed,
    given at least two started); the marks and whether all started in time."""
    marks = Marks(peer.workdir / f"{name}.marks")
    log = peer.workdir / f"{name}.log"
    env = worker_env({**peer.env, MARKS_ENV: str(marks.path)})
    limit = timeout if timeout is not None else 60 + jobs / 50
    with running(command, env, peer.workdir, log, peer.stop_signal) as proc:
        try:
            wait_until(lambda: marks.distinct() >= jobs, limit, name, proc, log, 0.05)
        except TimeoutError:
            if len(marks.starts) < 2:
                raise
            return marks, False
    return marks, True


def remarks(marks: Marks, jobs: int, within: bool) -> str:
    """What a figure's detail should add: jobs left undone, jobs started twice."""
    text = "" if within else f"; only {len(marks.starts):,} of {jobs:,} started in time"
    if marks.duplicates:
        text += f"; {marks.duplicates} jobs started twice"
    return text


def latency(peer: Peer, counts: Counts) -> list[Figure]:
    with peer.database():
        marks = Marks(peer.workdir / "latency.marks")
        log = peer.workdir / "latency.log"
        env = worker_env({**peer.env, MARKS_ENV: str(marks.path)})
        with running(peer.worker_command(False), env, peer.workdir, log, peer.stop_signal) as proc:
            # A first job shows the worker is up; then it idles before the measured ones.
            peer.paced([-1], 0)
            wait_until(lambda: marks.distinct() >= 1, 120, "worker start", proc, log)
            time.sleep(IDLE_BEFORE_LATENCY)
            calls = peer.paced(range(counts.latency), counts.latency_interval)
            wait_until(lambda: marks.distinct() > counts.latency, 60, "latency jobs", proc, log)
    samples = [(marks.starts[n] - called) * 1e3 for n, called in calls.items()]
    p50 = statistics.median(samples)
    p99 = statistics.quantiles(samples, n=100)[98]
    detail = f"{counts.latency} jobs {counts.latency_interval * 1e3:.0f} ms apart"
    return [
        _figure(peer, "latency_p50", p50, "ms", detail),
        _figure(peer, "latency_p99", p99, "ms", detail),
    ]


PHASES: dict[str, Callable[[Peer, Counts], list[Figure]]] = {
    "enqueue": enqueue,
    "drain_default": drain_default,
    "drain_tuned": drain_tuned,
    "latency": latency,
}
# The figures each phase reports, with their unit (for a phase that fails).
PHASE_FIGURES = {
    "enqueue": [("enqueue_one", "jobs/s"), ("enqueue_bulk", "jobs/s")],
    "drain_default": [("worker_default", "jobs/s")],
    "drain_tuned": [("worker_tuned", "jobs/s")],
    "latency": [("latency_p50", "ms"), ("latency_p99", "ms")],
}


def _figure(peer: Peer, key: str, value: float, unit: str, detail: str = "") -> Figure:
    return Figure(key, peer.system, peer.backend, value, unit, detail)


def _failed(peer: Peer, key: str, unit: str, error: str) -> Figure:
    return Figure.failed(key, peer.system, peer.backend, unit, error)
