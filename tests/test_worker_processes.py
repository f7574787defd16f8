"""Fault tests with real ``jobmill worker`` processes over one database (SQLite and
PostgreSQL; the tests of SQLite's own locking on SQLite only).

Exactly-once is proved by side effects: every execution appends a line to a
ledger file. Deadlines are generous (the machine may be busy); nothing here
asserts a duration.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

import jobmill
from conftest import pooler_env
from jobmill import JobStatus
from jobmill.store import JobFilter, Store
from pump_trace import PUMP_TRACE, PumpTrace
from worker_jobs import (
    WorkerExitJob,
    WorkerFlakyJob,
    WorkerRecordJob,
    WorkerSlowJob,
    read_lines,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.through_pgbouncer]

TESTS = Path(__file__).resolve().parent
DEADLINE = 60.0


@dataclass
class WorkerProcess:
    popen: subprocess.Popen[bytes]
    log: Path
    name: str  # its PostgreSQL sessions' application_name

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text()

    def signal(self, signum: int) -> None:
        self.popen.send_signal(signum)

    def wait(self, timeout: float = DEADLINE) -> int:
        return self.popen.wait(timeout)


class Workers:
    """Starts worker processes on one database and cleans up after them."""

    def __init__(self, url: str, directory: Path) -> None:
        self.url = url
        self.directory = directory
        self.started: list[WorkerProcess] = []

    def start(self, *args: str, env: dict[str, str] | None = None) -> WorkerProcess:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("JOBMILL_")}
        name = f"jobmill-test-{uuid.uuid4().hex[:12]}"
        environment = {
            **clean,
            **pooler_env(),
            "JOBMILL_DATABASE_URL": self.url,
            "PGAPPNAME": name,
            "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
            **(env or {}),
        }
        command = [sys.executable, "-m", "jobmill", "worker", "--import", "worker_jobs"]
        command += ["--no-scheduler", "--poll-interval", "0.1", *args]
        log = self.directory / f"worker-{len(self.started)}.log"
        with log.open("wb") as stderr:
            popen = subprocess.Popen(
                command, env=environment, cwd=self.directory, stderr=stderr, process_group=0
            )
        process = WorkerProcess(popen, log, name)
        self.started.append(process)
        return process

    def cleanup(self) -> None:
        for process in self.started:
            if process.popen.poll() is None:
                os.killpg(process.pid, signal.SIGCONT)
                os.killpg(process.pid, signal.SIGKILL)
                process.popen.wait(10)


@pytest.fixture
def workers(configured: Store, database_url: str, tmp_path: Path) -> Iterator[Workers]:
    """Worker processes on SQLite and, in a second run, on PostgreSQL."""
    started = Workers(database_url, tmp_path)
    try:
        yield started
    finally:
        started.cleanup()


@pytest.fixture
def sqlite_workers(sqlite_configured: Store, sqlite_url: str, tmp_path: Path) -> Iterator[Workers]:
    """Worker processes on SQLite only (tests of SQLite's own locking)."""
    started = Workers(sqlite_url, tmp_path)
    try:
        yield started
    finally:
        started.cleanup()


@pytest.fixture
def ledger(tmp_path: Path) -> str:
    return str(tmp_path / "ledger.txt")


def live_workers(store: Store, count: int) -> list[int]:
    """Wait until ``count`` worker processes have registered; returns their pids."""
    return wait_until(
        lambda: len(rows := store.list_workers()) >= count and [row.pid for row in rows],
        timeout=DEADLINE,
    )


def count(store: Store, status: JobStatus) -> int:
    return store.count_jobs(JobFilter(status=status))


def started_by(ledger: str) -> int:
    """The pid that wrote the first ``start`` line."""
    line = wait_until(lambda: read_lines(ledger), timeout=DEADLINE)[0]
    return int(line.split()[2])


def test_several_processes_run_each_job_exactly_once(
    workers: Workers, configured: Store, ledger: str
) -> None:
    WorkerRecordJob.later_many([{"ledger": ledger, "tag": f"job-{n}"} for n in range(60)])
    fleet = [workers.start("--concurrency", "2") for _ in range(3)]
    live_workers(configured, 3)

    wait_until(lambda: count(configured, JobStatus.COMPLETED) == 60, timeout=DEADLINE)
    for process in fleet:
        process.signal(signal.SIGTERM)

    assert [process.wait() for process in fleet] == [0, 0, 0]
    executions = Counter(line.split()[0] for line in read_lines(ledger))
    assert len(executions) == 60 and set(executions.values()) == {1}
    assert configured.list_workers() == []


def test_a_sigkilled_workers_job_is_rescued_by_another(
    workers: Workers, configured: Store, ledger: str
) -> None:
    first = workers.start("--lock-timeout", "1")
    job_id = WorkerSlowJob.later(ledger=ledger, tag="rescued", seconds=600, seconds_on_retry=0.5)
    assert started_by(ledger) == first.pid
    second = workers.start("--lock-timeout", "1")
    live_workers(configured, 2)

    first.signal(signal.SIGKILL)
    wait_until(lambda: jobmill.get(job_id).status == "completed", timeout=DEADLINE)

    record = jobmill.get(job_id)
    assert (record.attempts, record.result) == (2, {"pid": second.pid, "attempt": 2})
    assert "lock_expired" in [event.kind for event in jobmill.history(job_id)]
    second.signal(signal.SIGTERM)
    assert second.wait() == 0


def test_a_long_job_is_not_taken_from_a_live_worker(
    workers: Workers, configured: Store, ledger: str
) -> None:
    fleet = [workers.start("--lock-timeout", "1") for _ in range(2)]
    live_workers(configured, 2)

    job_id = WorkerSlowJob.later(ledger=ledger, tag="long", seconds=3.5)
    wait_until(lambda: jobmill.get(job_id).status == "completed", timeout=DEADLINE)

    record = jobmill.get(job_id)
    assert record.attempts == 1
    assert [line.split()[0] for line in read_lines(ledger)] == ["start", "end"]
    assert "lock_expired" not in [event.kind for event in jobmill.history(job_id)]
    for process in fleet:
        process.signal(signal.SIGTERM)
    assert [process.wait() for process in fleet] == [0, 0]


def test_sigterm_lets_the_running_job_finish_then_exits_0(
    workers: Workers, configured: Store, ledger: str
) -> None:
    process = workers.start()
    job_id = WorkerSlowJob.later(ledger=ledger, tag="finish", seconds=1.5)
    started_by(ledger)

    process.signal(signal.SIGTERM)

    assert process.wait() == 0
    record = jobmill.get(job_id)
    assert (record.status, record.attempts) == ("completed", 1)
    assert configured.list_workers() == []


def test_sigterm_releases_a_job_longer_than_the_grace_period(
    workers: Workers, configured: Store, ledger: str
) -> None:
    process = workers.start("--grace-period", "0.3")
    job_id = WorkerSlowJob.later(ledger=ledger, tag="released", seconds=120)
    started_by(ledger)

    process.signal(signal.SIGTERM)

    assert process.wait() == 0
    record = jobmill.get(job_id)
    assert (record.status, record.attempts, record.worker_id) == ("pending", 0, None)
    assert "released" in [event.kind for event in jobmill.history(job_id)]


def test_a_second_signal_stops_at_once(workers: Workers, configured: Store, ledger: str) -> None:
    process = workers.start("--grace-period", "600")
    job_id = WorkerSlowJob.later(ledger=ledger, tag="abort", seconds=600)
    started_by(ledger)

    process.signal(signal.SIGINT)
    wait_until(lambda: "finishing running jobs" in process.output(), timeout=DEADLINE)
    process.signal(signal.SIGINT)

    assert process.wait() == 1
    assert jobmill.get(job_id).status == "pending"


def test_a_job_that_kills_its_process_ends_failed(
    workers: Workers, configured: Store, ledger: str
) -> None:
    supervisor = workers.start("--processes", "2", "--lock-timeout", "1")
    job_id = WorkerExitJob.later(ledger=ledger)

    wait_until(lambda: jobmill.get(job_id).status == "failed", timeout=DEADLINE)

    record = jobmill.get(job_id)
    assert record.attempts == 2
    assert record.error is not None and "no attempts left" in record.error
    killed = {line.split()[1] for line in read_lines(ledger)}
    assert len(killed) == 2  # each attempt killed a different worker process
    assert "restarting" in supervisor.output()
    supervisor.signal(signal.SIGTERM)
    assert supervisor.wait() == 0


def parent_of(pid: int) -> int | None:
    """The parent pid of a process (``/proc/PID/stat``), None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])  # the fields after the command name


def test_supervisor_restarts_a_process_that_dies(workers: Workers, configured: Store) -> None:
    supervisor = workers.start("--processes", "2")
    pids = live_workers(configured, 2)

    os.kill(pids[0], signal.SIGKILL)
    replaced = wait_until(
        lambda: {row.pid for row in configured.list_workers()} - set(pids),
        timeout=DEADLINE,
    )

    # One new child of the supervisor took the killed one's place; the other
    # child kept running, untouched.
    [new_pid] = replaced
    assert parent_of(new_pid) == parent_of(pids[1]) == supervisor.pid
    started = re.findall(r"started worker process \d+ \(pid (\d+)\)", supervisor.output())
    assert sorted(map(int, started)) == sorted([*pids, new_pid])
    supervisor.signal(signal.SIGTERM)
    assert supervisor.wait() == 0
    # Every child stopped cleanly and removed its row; only the killed one's stays.
    assert [row.pid for row in configured.list_workers()] == [pids[0]]


def test_a_flaky_job_succeeds_on_its_third_attempt(
    workers: Workers, configured: Store, ledger: str
) -> None:
    process = workers.start()
    job_id = WorkerFlakyJob.later(ledger=ledger)

    wait_until(lambda: jobmill.get(job_id).status == "completed", timeout=DEADLINE)

    assert jobmill.get(job_id).attempts == 3
    assert read_lines(ledger) == ["attempt 1", "attempt 2", "attempt 3"]
    process.signal(signal.SIGTERM)
    assert process.wait() == 0


def test_priority_order_and_queues_in_burst_mode(
    workers: Workers, configured: Store, ledger: str
) -> None:
    for tag, priority in [("p1", 1), ("p9", 9), ("p0", 0), ("p5", 5)]:
        WorkerRecordJob.set(queue="mail", priority=priority).later(ledger=ledger, tag=tag)
    other = WorkerRecordJob.set(queue="sms", priority=100).later(ledger=ledger, tag="sms")

    process = workers.start("--queues", "mail", "--concurrency", "1", "--burst")

    assert process.wait() == 0
    assert [line.split()[0] for line in read_lines(ledger)] == ["p9", "p5", "p1", "p0"]
    assert jobmill.get(other).status == "pending"


def test_a_chain_with_a_failing_link(workers: Workers, configured: Store, ledger: str) -> None:
    ids = jobmill.chain(
        WorkerRecordJob.step(ledger=ledger, tag="first"),
        WorkerRecordJob.step(ledger=ledger, tag="second", fail=True),
        WorkerRecordJob.step(ledger=ledger, tag="third"),
        WorkerRecordJob.step(ledger=ledger, tag="fourth"),
    )

    # Two supervised processes in burst mode: each exits 0 when it finds nothing to do.
    process = workers.start("--processes", "2", "--concurrency", "4", "--burst")

    assert process.wait() == 0
    statuses = [jobmill.get(job_id).status for job_id in ids]
    assert statuses == ["completed", "failed", "cancelled", "cancelled"]
    assert jobmill.get(ids[2]).error == f"dependency {ids[1]} ended failed"
    assert jobmill.get(ids[3]).error == f"dependency {ids[2]} ended cancelled"
    assert [line.split()[0] for line in read_lines(ledger)] == ["first", "second"]


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def hold_write_lock(database: Path, stop: threading.Event, held: float, free: float) -> None:
    """Another writer that keeps taking SQLite's write lock."""
    connection = sqlite3.connect(database, isolation_level=None, timeout=30)
    try:
        while not stop.is_set():
            connection.execute("BEGIN IMMEDIATE")
            time.sleep(held)
            connection.execute("COMMIT")
            time.sleep(free)
    finally:
        connection.close()


def hold_write_lock_until(database: Path, condition: Callable[[], object]) -> None:
    """Take SQLite's write lock and keep it until ``condition()`` holds."""
    connection = sqlite3.connect(database, isolation_level=None, timeout=30)
    try:
        connection.execute("BEGIN IMMEDIATE")
        try:
            wait_until(condition, timeout=DEADLINE)
        finally:
            connection.execute("COMMIT")
    finally:
        connection.close()


def test_database_is_locked_loses_and_duplicates_nothing(
    sqlite_workers: Workers, sqlite_configured: Store, sqlite_url: str, ledger: str
) -> None:
    WorkerRecordJob.later_many(
        [{"ledger": ledger, "tag": f"job-{n}", "seconds": 0.2} for n in range(30)]
    )
    # A 20 ms busy timeout turns the contention into "database is locked" errors.
    env = {"WORKER_TEST_BUSY_TIMEOUT_MS": "20"}
    fleet = [sqlite_workers.start("--concurrency", "3", env=env) for _ in range(3)]
    live_workers(sqlite_configured, 3)
    database = sqlite_path(sqlite_url)

    # Jobs are running: keep every worker from writing (their outcomes, claims,
    # heartbeats) until one of them has met "database is locked"...
    wait_until(lambda: read_lines(ledger), timeout=DEADLINE)
    hold_write_lock_until(
        database, lambda: any("database is locked" in process.output() for process in fleet)
    )
    # ...then keep taking the lock now and then while the rest run.
    stop = threading.Event()
    intruder = threading.Thread(target=hold_write_lock, args=(database, stop, 0.1, 0.15))
    intruder.start()
    try:
        wait_until(lambda: count(sqlite_configured, JobStatus.COMPLETED) == 30, timeout=DEADLINE)
    finally:
        stop.set()
        intruder.join()
    for process in fleet:
        process.signal(signal.SIGTERM)

    assert [process.wait() for process in fleet] == [0, 0, 0]
    executions = Counter(line.split()[0] for line in read_lines(ledger))
    assert len(executions) == 30 and set(executions.values()) == {1}
    assert any("database is locked" in process.output() for process in fleet)


def sqlite_writer_frozen(database: Path) -> Callable[[], bool]:
    """Whether a stopped process holds SQLite's write lock (a probe takes it)."""

    def holds_it() -> bool:
        probe = sqlite3.connect(database, isolation_level=None, timeout=0.2)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("COMMIT")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            probe.close()

    return holds_it


def postgres_transaction_frozen(store: Store, name: str) -> Callable[[], bool]:
    """Whether a stopped process has a session that is not idle (inside a
    transaction, holding row locks, or running a statement it sent)."""

    def busy() -> bool:
        with store.engine.connect() as conn:
            states = conn.execute(
                text("SELECT state FROM pg_stat_activity WHERE application_name = :name"),
                {"name": name},
            ).scalars()
            return any(state != "idle" for state in states)

    def not_idle() -> bool:
        if busy():
            return True
        time.sleep(0.2)  # a statement sent just before the stop shows by now
        return busy()

    return not_idle


def freeze_outside_a_transaction(process: WorkerProcess, store: Store, url: str) -> None:
    """SIGSTOP ``process`` at a moment it holds no write lock or open transaction
    (a frozen writer would stall every other process, which is not what is tested)."""
    if url.startswith("sqlite"):
        frozen_inside = sqlite_writer_frozen(sqlite_path(url))
    else:
        frozen_inside = postgres_transaction_frozen(store, process.name)
    while True:
        process.signal(signal.SIGSTOP)
        if not frozen_inside():
            return
        process.signal(signal.SIGCONT)
        time.sleep(0.05)


def test_a_paused_worker_cannot_overwrite_the_newer_attempt(
    workers: Workers, configured: Store, database_url: str, ledger: str, tmp_path: Path
) -> None:
    fleet = {}
    for _ in range(2):
        process = workers.start("--lock-timeout", "1", "--concurrency", "1")
        fleet[process.pid] = process
    live_workers(configured, 2)
    gate = tmp_path / "gate"
    job_id = WorkerSlowJob.later(ledger=ledger, tag="fenced", hold_until=str(gate))
    # The first attempt did its work, but has not handed back its result yet.
    ended = wait_until(lambda: [line for line in read_lines(ledger) if line.startswith("end")])
    [(_, _, pid, attempt)] = [line.split() for line in ended]
    assert attempt == "1"
    paused = fleet[int(pid)]
    [other] = [process for process in fleet.values() if process is not paused]

    freeze_outside_a_transaction(paused, configured, database_url)
    wait_until(lambda: jobmill.get(job_id).status == "completed", timeout=DEADLINE)
    gate.touch()
    paused.signal(signal.SIGCONT)
    wait_until(lambda: "late result" in paused.output(), timeout=DEADLINE)

    record = jobmill.get(job_id)
    assert (record.attempts, record.result) == (2, {"pid": other.pid, "attempt": 2})
    kinds = [event.kind for event in jobmill.history(job_id)]
    assert kinds.count("completed") == 1 and "lock_expired" in kinds
    # Whatever the paused attempt wrote when it came back was discarded: only
    # the newer attempt is on record, and the paused one ran only once.
    assert read_lines(ledger).count(f"end fenced {paused.pid} 1") == 1
    for process in fleet.values():
        process.signal(signal.SIGTERM)
    assert [process.wait() for process in fleet.values()] == [0, 0]


@pytest.mark.needs_listen
def test_an_idle_worker_in_another_process_wakes_for_a_new_job(
    workers: Workers, configured: Store, ledger: str, tmp_path: Path
) -> None:
    # Polling once a minute: each job is found by a wake-up from this process's
    # commit (PostgreSQL: NOTIFY; SQLite: the database's data version), enqueued
    # only once the worker has looked and found nothing (its first claim, the
    # look after the job before).
    trace = PumpTrace(tmp_path / "pump.trace")
    process = workers.start(
        "--poll-interval", "60", "--import", "pump_trace", env={PUMP_TRACE: str(trace.path)}
    )
    trace.wait_for_a_look_after(None, timeout=DEADLINE)
    for round_ in range(3):
        job_id = WorkerRecordJob.later(ledger=ledger, tag=f"r{round_}")
        wait_until(lambda job_id=job_id: jobmill.get(job_id).status == "completed", timeout=10)
        trace.wait_for_a_look_after(jobmill.get(job_id).completed_at)
    assert process.popen.poll() is None
