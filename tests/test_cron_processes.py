"""Several ``jobmill scheduler`` processes on one database: each due tick enqueues
exactly one job, declared schedules are stored once, SIGTERM stops them with exit 0.

Entries use a yearly expression with ``next_run_at`` pinned in the past, so the
ticks are due at once and no real tick can slip in while the test runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, update

import jobmill
from jobmill import runtime
from jobmill.clock import utcnow
from jobmill.cron.schedule import CronSchedule
from jobmill.store import Store
from jobmill.store.schema import cron_jobs, jobs

pytestmark = [pytest.mark.slow, pytest.mark.through_pgbouncer]

TESTS_DIR = Path(__file__).parent
SCHEDULERS = 3
ENTRIES = 6
ROUNDS = 3
YEARLY = "0 0 1 1 *"
BACKFILL_FROM = datetime(2021, 1, 1, tzinfo=UTC)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    jobmill.configure(database_url=database_url, auto_upgrade=True)
    try:
        yield runtime.get_store()
    finally:
        runtime.reset()


def subprocess_env(url: str) -> dict[str, str]:
    """This environment, the database URL, and ``tests/`` importable (``cron_jobs``)."""
    path = [str(TESTS_DIR), os.environ.get("PYTHONPATH", "")]
    return {
        **os.environ,
        "JOBMILL_DATABASE_URL": url,
        "PYTHONPATH": os.pathsep.join(filter(None, path)),
    }


def start_schedulers(url: str, logs: Path) -> list[tuple[subprocess.Popen[bytes], Path]]:
    env = subprocess_env(url)
    started = []
    for index in range(SCHEDULERS):
        log = logs / f"scheduler-{index}.log"
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "jobmill", "scheduler", "--import", "cron_jobs",
                 "--poll-interval", "0.05"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )  # fmt: skip
        started.append((process, log))
    return started


def jobs_per_entry(store: Store, ids: list[int]) -> list[int]:
    with store.engine.connect() as conn:
        counts = dict(
            conn.execute(
                select(jobs.c.cron_job_id, func.count())
                .where(jobs.c.cron_job_id.in_(ids))
                .group_by(jobs.c.cron_job_id)
            ).all()
        )
    return [counts.get(entry_id, 0) for entry_id in ids]


def all_scheduled_ahead(store: Store, ids: list[int]) -> bool:
    with store.engine.connect() as conn:
        ahead = conn.execute(
            select(func.count())
            .select_from(cron_jobs)
            .where(cron_jobs.c.id.in_(ids), cron_jobs.c.next_run_at > utcnow())
        ).scalar_one()
    return ahead == len(ids)


def test_schedulers_enqueue_exactly_one_job_per_tick(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    with store.engine.begin() as conn:
        rows = [{"job_name": "CronReportJob", "cron_expression": YEARLY, "params": {"count": n}}
                for n in range(ENTRIES)]  # fmt: skip
        ids = [conn.execute(insert(cron_jobs).values(row).returning(cron_jobs.c.id)).scalar_one()
               for row in rows]  # fmt: skip
        backfill_id = conn.execute(
            insert(cron_jobs)
            .values(job_name="CronReportJob", cron_expression=YEARLY, misfire_policy="backfill",
                    next_run_at=BACKFILL_FROM)
            .returning(cron_jobs.c.id)
        ).scalar_one()  # fmt: skip
    schedulers = start_schedulers(database_url, tmp_path)
    try:
        wait_for(
            lambda: all("cron scheduler" in log.read_text() for _, log in schedulers),
            "every scheduler to start",
        )
        wait_for(lambda: all_scheduled_ahead(store, [*ids, backfill_id]), "the first sight")
        assert jobs_per_entry(store, ids) == [0] * ENTRIES  # NULL next_run_at: no run yet
        for round_ in range(1, ROUNDS + 1):
            # A distinct pinned time per round, so no scheduler can match a stale read.
            due = utcnow() - timedelta(minutes=round_)
            with store.engine.begin() as conn:
                conn.execute(
                    update(cron_jobs).where(cron_jobs.c.id.in_(ids)).values(next_run_at=due)
                )
            wait_for(lambda: all_scheduled_ahead(store, ids), f"round {round_} to fire")
            assert jobs_per_entry(store, ids) == [round_] * ENTRIES
        yearly = CronSchedule.parse(YEARLY)
        expected_backfill = 1 + sum(1 for _ in _ticks_until(yearly, BACKFILL_FROM, utcnow()))
        assert jobs_per_entry(store, [backfill_id]) == [expected_backfill]
        with store.engine.connect() as conn:
            declared = conn.execute(
                select(cron_jobs.c.name, func.count())
                .where(cron_jobs.c.declared_in_code.is_(True))
                .group_by(cron_jobs.c.name)
            ).all()
        assert {"CronHourlyJob", "cron-tests-nightly"} <= {name for name, _ in declared}
        assert {count for _, count in declared} == {1}
    finally:
        for process, _ in schedulers:
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(timeout=30) for process, _ in schedulers]
    logs = [log.read_text() for _, log in schedulers]
    assert codes == [0] * SCHEDULERS, logs
    assert not any("Traceback" in text or "ERROR" in text for text in logs), logs
    assert all("stopped" in text for text in logs)


def _ticks_until(schedule: CronSchedule, start: datetime, end: datetime) -> Iterator[datetime]:
    for tick in schedule.ticks_after(start):
        if tick > end:
            return
        yield tick


def test_a_worker_runs_the_scheduler_and_the_jobs_it_enqueues(
    sqlite_url: str, tmp_path: Path
) -> None:
    jobmill.configure(database_url=sqlite_url)
    try:
        store = runtime.get_store()
        with store.engine.begin() as conn:
            entry_id = conn.execute(
                insert(cron_jobs)
                .values(job_name="CronReportJob", cron_expression=YEARLY, params={"count": 4},
                        next_run_at=utcnow() - timedelta(seconds=5))
                .returning(cron_jobs.c.id)
            ).scalar_one()  # fmt: skip
        env = subprocess_env(sqlite_url)
        log = tmp_path / "worker.log"
        with log.open("wb") as stderr:
            worker = subprocess.Popen(
                [sys.executable, "-m", "jobmill", "worker", "--import", "cron_jobs",
                 "--poll-interval", "0.05"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )  # fmt: skip
        try:

            def completed() -> list[int]:
                with store.engine.connect() as conn:
                    return list(
                        conn.execute(
                            select(jobs.c.result).where(
                                jobs.c.cron_job_id == entry_id, jobs.c.status == "completed"
                            )
                        ).scalars()
                    )

            wait_for(lambda: bool(completed()), "the worker to run the cron job")
            assert completed() == [4]
        finally:
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=30) == 0, log.read_text()
        assert store.get_cron_job("CronHourlyJob").declared_in_code
    finally:
        runtime.reset()
