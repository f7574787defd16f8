"""libSQL (``sqlite+libsql://``) on a local file: the same SQLite dialect, through
the libSQL driver (read-only isolation level, plain ``ValueError`` errors)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

import jobmill
from jobmill import Job, JobNotFound, JobStatus, runtime
from jobmill.store import NewJobs, Store
from jobmill.testing import drain

MISSING = [
    name
    for name in ("sqlalchemy_libsql", "libsql_experimental")
    if not importlib.util.find_spec(name)
]
if MISSING:
    reason = f"libSQL extra not installed ({', '.join(MISSING)}): pip install 'jobmill[libsql]'"
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"CI requires libSQL: {reason}")
    pytest.skip(reason, allow_module_level=True)


class LibsqlAddJob(Job[dict[str, int], int]):
    max_attempts = 2

    def perform(self, params: dict[str, int]) -> int:
        self.update_progress(50, "adding")
        return params["a"] + params["b"]


class LibsqlFlakyJob(Job[dict[str, str], str]):
    max_attempts = 2

    def backoff(self, attempt: int) -> float:
        return 0.0

    def perform(self, params: dict[str, str]) -> str:
        if self.attempt == 1:
            raise RuntimeError("first attempt fails")
        return "second attempt"


@pytest.fixture
def libsql_url(tmp_path: Path) -> str:
    return f"sqlite+libsql:///{tmp_path / 'jobs.db'}"


@pytest.fixture
def libsql_store(libsql_url: str) -> Iterator[Store]:
    jobmill.configure(database_url=libsql_url, progress_interval=0)
    try:
        yield runtime.get_store()
    finally:
        runtime.reset()


def test_libsql_engine_uses_wal_busy_timeout_and_foreign_keys(libsql_store: Store) -> None:
    assert libsql_store.dialect.name == "sqlite"
    with libsql_store.engine.connect() as conn:
        pragmas = [
            conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "busy_timeout", "foreign_keys")
        ]
    assert pragmas == ["wal", 30000, 1]


def test_libsql_runs_jobs_end_to_end(libsql_store: Store) -> None:
    job_id = LibsqlAddJob.later({"a": 2, "b": 3})
    flaky_id = LibsqlFlakyJob.later({})
    assert drain() >= 2
    while drain():  # the retry is due at once (backoff 0)
        pass
    done = jobmill.get(job_id)
    assert (done.status, done.result, done.progress) == (JobStatus.COMPLETED, 5, 100)
    retried = jobmill.get(flaky_id)
    assert (retried.status, retried.attempts, retried.result) == (
        JobStatus.COMPLETED,
        2,
        "second attempt",
    )
    kinds = [event.kind for event in jobmill.history(flaky_id)]
    assert "attempt_failed" in kinds
    assert LibsqlAddJob.now({"a": 1, "b": 1}).data == 2


def test_libsql_unique_keys_and_dependencies(libsql_store: Store) -> None:
    first = LibsqlAddJob.set(unique_key="k").later({"a": 1, "b": 1})
    assert LibsqlAddJob.set(unique_key="k").later({"a": 9, "b": 9}) == first
    child = LibsqlAddJob.set(depends_on=[first]).later({"a": 0, "b": 0})
    [claimed] = libsql_store.claim_jobs("libsql-worker", 10, 30)
    assert claimed.id == first  # the child waits for its dependency
    jobmill.cancel(child)
    assert jobmill.get(child).status is JobStatus.CANCELLED


def test_libsql_transactional_enqueue(libsql_store: Store, libsql_url: str) -> None:
    # The application's own engine, as libSQL makes it: its driver begins a
    # transaction before the first write, so rollback undoes the enqueue.
    engine = create_engine(libsql_url)
    try:
        with pytest.raises(ZeroDivisionError), engine.begin() as conn:
            lost = LibsqlAddJob.set(connection=conn).later({"a": 1, "b": 1})
            conn.execute(text("SELECT 1"))
            _ = 1 / 0
        with pytest.raises(JobNotFound):
            libsql_store.get_job(lost)
        with engine.begin() as conn:
            kept = LibsqlAddJob.set(connection=conn).later({"a": 1, "b": 1})
        assert libsql_store.get_job(kept).status is JobStatus.PENDING
    finally:
        engine.dispose()


CLAIMER = """
import json, sys
from jobmill.store import Store
store = Store.from_url(sys.argv[1])
claimed, errors = [], []
while True:
    try:
        batch = store.claim_jobs(sys.argv[2], 10, 60)
    except ValueError as exc:  # libSQL's "database is locked" is a plain ValueError
        errors.append(str(exc))
        continue
    if not batch:
        break
    claimed += [job.id for job in batch]
print(json.dumps({"claimed": claimed, "errors": errors}))
"""


def test_libsql_claim_jobs_from_three_processes_claims_each_once(libsql_store: Store) -> None:
    jobs = NewJobs(
        job_name="LibsqlAddJob",
        queue="default",
        priority=0,
        max_attempts=1,
        timeout=None,
        ids=[f"libsql-{n:05d}" for n in range(600)],
        params=[f'{{"a": {n}, "b": 0}}' for n in range(600)],
    )
    libsql_store.enqueue([jobs])
    url = libsql_store.engine.url.render_as_string(hide_password=False)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, url, f"libsql-claimer-{n}"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    results = [json.loads(proc.communicate(timeout=60)[0]) for proc in procs]
    claimed = [job_id for result in results for job_id in result["claimed"]]
    assert sorted(claimed) == list(jobs.ids)
    assert [result["errors"] for result in results] == [[], [], []]
