"""Real ``jobmill worker`` processes on PostgreSQL: several at once run each job
exactly once; killed sessions and a server restart lose no job."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

import jobmill
from conftest import PG_URL, unavailable
from jobmill import runtime
from jobmill.store import Store
from pg_jobs import PgRecordJob, create_side_table, execution_counts
from pump_trace import PUMP_TRACE, PumpTrace

TESTS = Path(__file__).resolve().parent

# Real processes on a shared 2-core machine: generous per-test time limits.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@dataclass
class Fleet:
    """Worker processes started on one database URL."""

    url: str
    procs: list[subprocess.Popen[str]]
    logs: list[Path]

    def wait(self, timeout: float) -> list[int]:
        deadline = time.monotonic() + timeout
        return [proc.wait(max(0.1, deadline - time.monotonic())) for proc in self.procs]

    def stop(self) -> list[int]:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        return self.wait(60)

    def log(self, index: int) -> str:
        return self.logs[index].read_text()


@pytest.fixture
def start_workers(tmp_path: Path) -> Iterator[Callable[..., Fleet]]:
    fleets: list[Fleet] = []

    def start(url: str, count: int, *extra: str) -> Fleet:
        env = {
            **os.environ,
            "JOBMILL_DATABASE_URL": url,
            "JOBMILL_POLL_INTERVAL": "0.5",
            "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
        }
        procs, logs = [], []
        for n in range(count):
            log = tmp_path / f"worker-{len(fleets)}-{n}.log"
            command = [sys.executable, "-m", "jobmill", "worker", "--import", "pg_jobs"]
            command += ["--concurrency", "4", "--no-scheduler", *extra]
            with log.open("w") as stderr:
                procs.append(
                    subprocess.Popen(command, env=env, cwd=tmp_path, stderr=stderr, text=True)
                )
            logs.append(log)
        fleet = Fleet(url, procs, logs)
        fleets.append(fleet)
        return fleet

    yield start
    for fleet in fleets:
        for proc in fleet.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def prepare(url: str, jobs: int) -> Store:
    """Tables, the side table, and ``jobs`` pending PgRecordJobs numbered 0..jobs-1."""
    jobmill.configure(database_url=url, auto_upgrade=True)
    store = runtime.get_store()
    create_side_table(url)
    for start in range(0, jobs, 1000):
        PgRecordJob.later_many([{"n": n} for n in range(start, min(jobs, start + 1000))])
    return store


def fast_commits(url: str) -> str:
    """The URL with commits that do not wait for the disk: the same semantics
    short of a server crash, which these tests do not cause."""
    return url.replace("options=", "options=-csynchronous_commit%3Doff%20", 1)


def status_counts(store: Store) -> dict[str, int]:
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(text("SELECT status, count(*) FROM jobs GROUP BY status")).all()
    except OperationalError:  # the server is restarting
        return {}
    return {status: int(count) for status, count in rows}


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def completed(store: Store, jobs: int) -> Callable[[], bool]:
    return lambda: status_counts(store).get("completed", 0) == jobs


def test_four_worker_processes_run_each_job_exactly_once(
    pg_schema_url: str, start_workers: Callable[..., Fleet]
) -> None:
    jobs = 3000
    store = prepare(pg_schema_url, jobs)
    try:
        fleet = start_workers(fast_commits(pg_schema_url), 4, "--burst")
        assert fleet.wait(240) == [0, 0, 0, 0], fleet.log(0)
        assert status_counts(store) == {"completed": jobs}
        assert execution_counts(pg_schema_url) == dict.fromkeys(range(jobs), 1)
        engine = create_engine(pg_schema_url)
        with engine.connect() as conn:
            pids = conn.execute(text("SELECT count(DISTINCT pid) FROM pg_executions")).scalar()
        engine.dispose()
        assert pids == 4
    finally:
        runtime.reset()


def terminate_sessions(application_name: str) -> int:
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        killed = conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = :name AND pid <> pg_backend_pid()"
            ),
            {"name": application_name},
        ).scalars()
        count = sum(killed)
    engine.dispose()
    return count


def test_workers_ride_out_terminated_sessions(
    pg_schema_url: str, start_workers: Callable[..., Fleet]
) -> None:
    jobs, outages = 1500, 2
    name = f"pgw_{uuid.uuid4().hex[:8]}"
    url = f"{pg_schema_url}&application_name={name}"
    store = prepare(pg_schema_url, jobs)
    try:
        fleet = start_workers(url, 2, "--lock-timeout", "20")
        for outage in range(1, outages + 1):
            target = jobs * outage // (outages + 1)
            wait_until(
                lambda target=target: status_counts(store).get("completed", 0) >= target,
                120,
                f"{target} jobs completed",
            )
            # Every session of both workers: pooled, mid-transaction, LISTEN.
            assert terminate_sessions(name) >= 2
        wait_until(completed(store, jobs), 180, "every job completed")
        assert fleet.stop() == [0, 0]
        assert status_counts(store) == {"completed": jobs}
    finally:
        runtime.reset()
    # Outcomes that could not be written are retried on a new connection,
    # so no job runs twice.
    assert execution_counts(pg_schema_url) == dict.fromkeys(range(jobs), 1)
    for index in range(2):
        log = fleet.log(index)
        assert log.count("LISTEN connection failed") == outages, log
        assert log.count("LISTEN connection re-established") == outages, log


@dataclass
class PrivateServer:
    """A PostgreSQL instance of this test's own, on a free loopback port."""

    root: Path
    port: int
    as_postgres: list[str]
    bindir: Path

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def ctl(self, *args: str) -> None:
        command = [*self.as_postgres, str(self.bindir / "pg_ctl"), "-D", str(self.root / "data")]
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        command += ["-l", str(self.root / "server.log"), "-w", "-o", options, *args]
        subprocess.run(command, check=True, capture_output=True, timeout=60)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_bindir() -> Path:
    """Where the installed PostgreSQL server's programs are (``pg_config --bindir``)."""
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        unavailable("no pg_config on PATH to find initdb (PostgreSQL's server package)")
    found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=30)
    bindir = Path(found.stdout.strip())
    if found.returncode != 0 or not (bindir / "initdb").exists():
        unavailable(f"no initdb in {bindir} (pg_config --bindir): {found.stderr.strip()}")
    return bindir


@pytest.fixture
def private_server() -> Iterator[PrivateServer]:
    """initdb + pg_ctl as the postgres user (initdb refuses root); never the
    machine's shared server, which other tests use."""
    bindir = server_bindir()
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            unavailable("running as root without runuser: cannot start PostgreSQL as postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="jobmill-pg-"))
    if as_postgres:
        shutil.chown(root, "postgres", "postgres")
    server = PrivateServer(root, free_port(), as_postgres, bindir)
    initdb = [*as_postgres, str(bindir / "initdb"), "-D", str(root / "data")]
    initdb += ["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]
    made = subprocess.run(initdb, capture_output=True, text=True, timeout=120)
    if made.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        unavailable(f"initdb failed, no private PostgreSQL instance: {made.stderr.strip()}")
    server.ctl("start")
    try:
        yield server
    finally:
        server.ctl("stop", "-m", "immediate")
        shutil.rmtree(root, ignore_errors=True)


def test_workers_ride_out_a_server_restart(
    private_server: PrivateServer, start_workers: Callable[..., Fleet]
) -> None:
    jobs = 900
    store = prepare(private_server.url, jobs)
    try:
        fleet = start_workers(private_server.url, 2, "--lock-timeout", "20")
        wait_until(
            lambda: status_counts(store).get("completed", 0) >= jobs // 3, 120, "a third done"
        )
        # Each worker's LISTEN session is up, so the restart cuts it (a worker
        # can finish a third of the jobs before its listener has connected).
        wait_until(lambda: listening_sessions(private_server.url) == 2, 30, "both LISTEN sessions")
        private_server.ctl("restart", "-m", "fast")
        wait_until(completed(store, jobs), 180, "every job completed after the restart")
        assert fleet.stop() == [0, 0]
        assert status_counts(store) == {"completed": jobs}
    finally:
        runtime.reset()
    assert execution_counts(private_server.url) == dict.fromkeys(range(jobs), 1)
    for index in range(2):
        log = fleet.log(index)
        assert log.count("LISTEN connection failed") == 1, log
        assert log.count("LISTEN connection re-established") == 1, log


def listening_sessions(url: str = PG_URL, application_name: str | None = None) -> int:
    """Sessions of the server at ``url`` (of ``application_name``, if given)
    that are listening for notifications."""
    engine = create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %'"
                " AND (CAST(:name AS text) IS NULL OR application_name = :name)"
            ),
            {"name": application_name},
        ).scalar_one()
    engine.dispose()
    return int(count)


def test_an_idle_worker_is_woken_by_notify(
    pg_schema_url: str,
    start_workers: Callable[..., Fleet],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = f"pgw_{uuid.uuid4().hex[:8]}"
    store = prepare(pg_schema_url, 0)
    trace = PumpTrace(tmp_path / "pump.trace")
    monkeypatch.setenv(PUMP_TRACE, str(trace.path))
    try:
        # Polling once a minute: only the notification can start the job in time.
        fleet = start_workers(
            f"{pg_schema_url}&application_name={name}",
            1,
            "--poll-interval",
            "60",
            "--import",
            "pump_trace",
        )
        wait_until(
            lambda: listening_sessions(application_name=name) == 1,
            30,
            "the worker's LISTEN session",
        )
        trace.wait_for_a_look_after(None)  # its first claim is over, it found nothing
        PgRecordJob.later(n=7)
        wait_until(completed(store, 1), 30, "the job to run well before the next poll")
        assert fleet.stop() == [0]
    finally:
        runtime.reset()
    assert execution_counts(pg_schema_url) == {7: 1}
