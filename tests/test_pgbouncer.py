"""jobmill behind PgBouncer in transaction mode (``pg_pooler = "transaction"``):
a worker drains jobs through it, says once that it polls, and leaves no session
state (prepared statements, LISTEN, planner settings) on the server connections
behind it.

The worker, cron and CLI suites also run through it (``through_pgbouncer``).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

import jobmill
from jobmill import runtime
from jobmill.errors import ConfigurationError
from jobmill.store import Store
from jobmill.store.dialects import POSTGRES_CONNECT_DEFAULTS
from jobmill.store.listen import PostgresListener, connect_kwargs
from pgbouncer import PgBouncer
from worker_jobs import WorkerRecordJob, read_lines

JOBS = 300
TESTS = Path(__file__).resolve().parent


def alias_of(url: str) -> str:
    return str(make_url(url).database)


def drain_with_a_worker(ledger: Path) -> None:
    ids = WorkerRecordJob.later_many([{"ledger": str(ledger), "tag": str(n)} for n in range(JOBS)])
    jobmill.Worker(burst=True, concurrency=4, scheduler=False, handle_signals=False).run()
    assert {jobmill.get(job_id).status for job_id in ids} == {"completed"}
    assert sorted(line.split()[0] for line in read_lines(ledger)) == sorted(map(str, range(JOBS)))


def test_a_worker_through_pgbouncer_polls_and_leaves_no_session_state(
    pgbouncer: PgBouncer,
    pgbouncer_schema_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    jobmill.configure(database_url=pgbouncer_schema_url, auto_upgrade=True, poll_interval=0.5)
    assert runtime.get_settings().pg_pooler == "transaction"  # from JOBMILL_PG_POOLER
    caplog.set_level(logging.INFO, logger="jobmill.worker")
    drain_with_a_worker(tmp_path / "ledger.txt")
    said = [r.getMessage() for r in caplog.records if "not listening" in r.getMessage()]
    assert said == [
        "not listening for enqueues in other processes (pg_pooler is 'transaction': "
        "LISTEN needs a session of its own): polling for new jobs every 0.5 s"
    ]
    with runtime.get_store().engine.connect() as conn:
        assert conn.connection.dbapi_connection.prepare_threshold is None  # type: ignore[union-attr]
    runtime.reset()
    assert pgbouncer.session_state(alias_of(pgbouncer_schema_url)) == [(0, [], "on")] * 4


def test_a_worker_process_says_once_in_its_log_that_it_polls(
    pgbouncer_schema_url: str, tmp_path: Path
) -> None:
    jobmill.configure(database_url=pgbouncer_schema_url, auto_upgrade=True)
    ledger = tmp_path / "ledger.txt"
    WorkerRecordJob.later_many([{"ledger": str(ledger), "tag": str(n)} for n in range(20)])
    environment = {
        **os.environ,
        "JOBMILL_DATABASE_URL": pgbouncer_schema_url,  # JOBMILL_PG_POOLER is set
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
    }
    command = [sys.executable, "-m", "jobmill", "worker", "--import", "worker_jobs", "--burst"]
    done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert len(read_lines(ledger)) == 20
    said = [line for line in done.stderr.splitlines() if "not listening" in line]
    assert len(said) == 1
    assert " INFO jobmill.worker " in said[0]
    assert said[0].endswith("LISTEN needs a session of its own): polling for new jobs every 1 s")


def test_without_the_setting_session_state_stays_behind_in_the_pool(
    pgbouncer: PgBouncer, pgbouncer_schema_url: str, pg_schema_url: str
) -> None:
    # What the setting prevents, seen by the same probe: a statement psycopg
    # prepared (on jobmill's usual connection options) and a LISTEN, left on
    # server connections that other clients then use.
    options = {**POSTGRES_CONNECT_DEFAULTS, **connect_kwargs(pgbouncer_schema_url)}
    with psycopg.connect(**options) as conn:  # one transaction, committed on exit
        for _ in range(6):
            conn.execute("SELECT %s::text", ("x",))
    Store.from_url(pg_schema_url, pool_size=1).dispose()  # the tables, made directly
    listener = PostgresListener(pgbouncer_schema_url)
    listener.start(lambda queue: None)
    assert listener.connected.wait(10)
    listener.stop()
    state = pgbouncer.session_state(alias_of(pgbouncer_schema_url))
    assert sum(prepared for prepared, _, _ in state) == 1
    assert [channels for _, channels, _ in state if channels] == [[listener.channel]]


def test_the_transaction_pooler_setting_steers_each_transaction_and_never_a_session(
    pg_schema_url: str,
) -> None:
    store = Store.from_url(pg_schema_url, pool_size=1, pg_pooler="transaction")
    try:
        dialect = store.dialect
        assert not dialect.keeps_sessions
        assert not dialect.writes_round_in_one_statement
        assert dialect.listener(store.engine.url) is None
        direct = Store.from_url(pg_schema_url, pool_size=1)
        assert direct.dialect.keeps_sessions and direct.dialect.listener(direct.engine.url)
        direct.dispose()
    finally:
        store.dispose()


@pytest.mark.parametrize("value", ["pgbouncer", "Transaction", ""])
def test_an_unknown_pg_pooler_is_refused_by_name(value: str) -> None:
    with pytest.raises(ConfigurationError, match="pg_pooler"):
        jobmill.configure(pg_pooler=value)
    with pytest.raises(ConfigurationError, match=r"pg_pooler: .* is not one of 'none'"):
        Store.from_url("postgresql://u@127.0.0.1/db", pg_pooler=value)
