"""One self-test run: enqueue no-op jobs in a queue of its own, run worker
processes over it (killing and freezing some at random when asked), wait for
the jobs, tally them (``tally``) and remove them.

The workers are ``python -m jobmill worker`` children with a short lock
timeout, so the jobs of a killed or frozen worker are rescued within seconds.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from jobmill.runtime import get_settings, get_store
from jobmill.selftest.job import SelftestJob
from jobmill.selftest.marks import MARKS_ENV, read_marks
from jobmill.selftest.tally import Tally, tally_jobs
from jobmill.states import JobStatus
from jobmill.store.queries import JobFilter

# A killed worker's jobs wait this long for rescue; frozen workers stay frozen
# for longer, so that their jobs are rescued and their late writes fenced out.
LOCK_TIMEOUT = 3.0
# Without kills, no lock may expire: a busy machine must not cause a rerun.
QUIET_LOCK_TIMEOUT = 60.0
FREEZE_SECONDS = (1.5 * LOCK_TIMEOUT, 2.5 * LOCK_TIMEOUT)
ACTION_INTERVAL = (0.3, 1.5)  # seconds between two kills or freezes
# The share of jobs completed by which a first kill and a first freeze happen.
FIRST_KILL_AT, FIRST_FREEZE_AT = 0.1, 0.3
# After --seconds, the workers run on unharmed this long for the last rescues.
RESCUE_SECONDS = 3 * LOCK_TIMEOUT + 5.0
ENQUEUE_CHUNK = 5_000
POLL_SECONDS = 0.1
COUNT_COST_SHARE = 20  # a count of completed jobs waits 20 times what the last one took
STOP_SECONDS = 15.0


@dataclass(frozen=True)
class SelftestReport:
    """What one self-test did and found."""

    queue: str
    processes: int
    kills: int
    freezes: int
    elapsed: float  # seconds from the first worker's start to the last completion
    tally: Tally
    logs: Path | None  # the workers' output, kept when the test failed

    @property
    def throughput(self) -> float:
        return self.tally.completed / self.elapsed if self.elapsed > 0 else 0.0


class WorkerExited(RuntimeError):
    """A worker process ended without being killed: the test cannot go on."""


@dataclass
class _Worker:
    popen: subprocess.Popen[bytes]
    log: Path
    frozen_until: float | None = None
    killed: bool = False


@dataclass
class _Pool:
    """The worker processes, replaced when they die, killed and frozen on demand."""

    command: list[str]
    env: dict[str, str]
    logs: Path
    size: int
    workers: list[_Worker] = field(default_factory=list)
    started: int = 0
    kills: int = 0
    freezes: int = 0

    def fill(self) -> None:
        """Replace the workers killed; ``WorkerExited`` if one ended by itself."""
        for worker in self.workers:
            code = worker.popen.poll()
            if code is not None and not worker.killed:
                lines = worker.log.read_text(errors="replace").strip().splitlines()
                last = lines[-1] if lines else "no output"
                raise WorkerExited(f"a worker process exited with code {code}: {last}")
        self.workers = [w for w in self.workers if not w.killed]
        while len(self.workers) < self.size:
            path = self.logs / f"worker-{self.started}.log"
            with path.open("wb") as log:
                popen = subprocess.Popen(
                    self.command,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    process_group=0,
                )
            self.workers.append(_Worker(popen, path))
            self.started += 1

    def thaw(self, now: float) -> None:
        for worker in self.workers:
            if worker.frozen_until is not None and now >= worker.frozen_until:
                worker.popen.send_signal(signal.SIGCONT)
                worker.frozen_until = None

    def harm(self, rng: random.Random, now: float, kill: bool | None = None) -> None:
        """SIGKILL one running worker (replaced at the next ``fill``) or freeze it
        with SIGSTOP; which one and, unless ``kill`` says, which harm at random."""
        running = [w for w in self.workers if w.frozen_until is None and w.popen.poll() is None]
        if not running:
            return
        worker = rng.choice(running)
        if kill is None:
            kill = rng.random() < 0.5
        if kill:
            worker.popen.send_signal(signal.SIGKILL)
            worker.popen.wait()
            worker.killed = True
            self.kills += 1
        else:
            worker.popen.send_signal(signal.SIGSTOP)
            worker.frozen_until = now + rng.uniform(*FREEZE_SECONDS)
            self.freezes += 1

    def stop(self) -> None:
        """Thaw every worker, ask each to stop, and kill those that do not."""
        for worker in self.workers:
            if worker.frozen_until is not None:
                worker.popen.send_signal(signal.SIGCONT)
            if worker.popen.poll() is None:
                worker.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for worker in self.workers:
            try:
                worker.popen.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.popen.kill()
                worker.popen.wait()


def run_selftest(
    jobs: int = 10_000,
    processes: int = 3,
    *,
    kill_workers: bool = False,
    seconds: float = 60.0,
    seed: int | None = None,
) -> SelftestReport:
    """Run ``jobs`` no-op jobs on ``processes`` worker processes against the
    configured database and tally them; with ``kill_workers``, SIGKILL or
    SIGSTOP (then SIGCONT) a worker at random every second or so, and at least
    once each (by a tenth and by three tenths of the jobs done).

    ``seconds`` bounds the wait for the jobs (kills stop then, and the workers
    get ``RESCUE_SECONDS`` more to finish); a job not completed by then is lost.
    The queue's jobs, and its workers' rows, are removed afterwards.
    """
    _check(jobs, processes, seconds)
    queue = f"jobmill-selftest-{uuid.uuid4().hex[:12]}"
    marks = Path(tempfile.mkdtemp(prefix="jobmill-selftest-"))
    try:
        job_ids = _enqueue(queue, jobs)
        pool = _Pool(_worker_command(queue, kill_workers), _worker_env(marks), marks, processes)
        elapsed = _run_until_done(pool, queue, jobs, kill_workers, seconds, random.Random(seed))
        states = get_store().queue_states(queue)
        tally = tally_jobs(job_ids, states, read_marks(marks), workers_killed=kill_workers)
    except BaseException:
        shutil.rmtree(marks, ignore_errors=True)
        raise
    finally:
        _remove_traces(queue)
    if tally.passed:
        shutil.rmtree(marks, ignore_errors=True)
    return SelftestReport(
        queue, processes, pool.kills, pool.freezes, elapsed, tally, None if tally.passed else marks
    )


def _remove_traces(queue: str) -> None:
    """Delete the queue's jobs, and the rows its killed workers left in ``workers``."""
    store = get_store()
    store.delete_queue_jobs(queue)
    for worker in store.list_workers():
        if worker.queues == (queue,):
            store.unregister_worker(worker.id)


def _check(jobs: int, processes: int, seconds: float) -> None:
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    if processes < 1:
        raise ValueError(f"processes must be >= 1, got {processes}")
    if not seconds > 0:
        raise ValueError(f"seconds must be > 0, got {seconds}")


def _enqueue(queue: str, jobs: int) -> list[str]:
    dispatch = SelftestJob.set(queue=queue)
    job_ids: list[str] = []
    for start in range(0, jobs, ENQUEUE_CHUNK):
        job_ids += dispatch.later_many([None] * min(ENQUEUE_CHUNK, jobs - start))
    return job_ids


def _worker_command(queue: str, kill_workers: bool) -> list[str]:
    lock_timeout = LOCK_TIMEOUT if kill_workers else QUIET_LOCK_TIMEOUT
    return [
        sys.executable,
        "-m",
        "jobmill",
        "worker",
        "--queues",
        queue,
        "--no-scheduler",
        "--lock-timeout",
        str(lock_timeout),
        "--log-level",
        "warning",
        "--parent-pid",
        str(os.getpid()),
    ]


def _worker_env(marks: Path) -> dict[str, str]:
    return {
        **os.environ,
        "JOBMILL_DATABASE_URL": get_settings().database_url,
        # The workers need the self-test's job only, not the application's.
        "JOBMILL_IMPORTS": "jobmill.selftest.job",
        MARKS_ENV: str(marks),
    }


def _run_until_done(
    pool: _Pool, queue: str, jobs: int, kill_workers: bool, seconds: float, rng: random.Random
) -> float:
    """Seconds until every job completed (or the wait ended); the workers are stopped."""
    with _stopped_after(pool):
        began = time.monotonic()
        harm_until = began + seconds
        give_up = harm_until + RESCUE_SECONDS
        next_harm = began + rng.uniform(*ACTION_INTERVAL)
        completed, next_count = 0, began
        while True:
            now = time.monotonic()
            pool.thaw(now)
            pool.fill()
            if now >= next_count:
                completed = _completed(queue)
                # Counting must not take the workers' share of the machine.
                next_count = now + max(POLL_SECONDS, COUNT_COST_SHARE * (time.monotonic() - now))
            if completed >= jobs or now >= give_up:
                return now - began
            if kill_workers and now < harm_until:
                if (forced := _forced_harm(pool, completed / jobs)) is not None:
                    pool.harm(rng, now, kill=forced)
                elif now >= next_harm:
                    pool.harm(rng, now)
                    next_harm = now + rng.uniform(*ACTION_INTERVAL)
            time.sleep(POLL_SECONDS)


def _forced_harm(pool: _Pool, done: float) -> bool | None:
    """However fast the jobs run, one worker is killed early and one frozen:
    True to kill now, False to freeze, None for neither."""
    if not pool.kills and done >= FIRST_KILL_AT:
        return True
    if not pool.freezes and done >= FIRST_FREEZE_AT:
        return False
    return None


@contextlib.contextmanager
def _stopped_after(pool: _Pool) -> Iterator[None]:
    try:
        yield
    finally:
        pool.stop()


def _completed(queue: str) -> int:
    return get_store().count_jobs(JobFilter(status=JobStatus.COMPLETED, queue=queue))
