"""``jobmill selftest``: the tally of lost and duplicated jobs from rows and marks
(pure), and the command itself with real worker processes killed and frozen, on
SQLite and PostgreSQL, including a run it must fail."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import delete

import jobmill
from jobmill.selftest.job import SelftestJob
from jobmill.selftest.marks import Mark
from jobmill.selftest.tally import tally_jobs
from jobmill.store import JobFilter, JobState, Store
from jobmill.store.schema import jobs

SELFTEST = (sys.executable, "-m", "jobmill", "selftest")
A, B = "01a00000-0000-7000-8000-00000000000a", "01a00000-0000-7000-8000-00000000000b"


def completed(job_id: str, attempts: int = 1, recorded: int | None = None) -> JobState:
    result = {"attempt": attempts if recorded is None else recorded, "pid": 10}
    return JobState(job_id, "completed", attempts, result)


def test_tally_jobs_each_completed_once_passes() -> None:
    tally = tally_jobs(
        [A, B], [completed(A), completed(B)], [Mark(A, 1, 10), Mark(B, 1, 11)], workers_killed=False
    )
    assert (tally.completed, tally.lost, tally.duplicated, tally.ran_again) == (2, (), (), ())
    assert tally.passed


def test_tally_jobs_counts_a_job_not_completed_or_gone_as_lost() -> None:
    pending = JobState(A, "pending", 1, None)
    tally = tally_jobs([A, B], [pending], [Mark(A, 1, 10)], workers_killed=True)
    assert tally.lost == (A, B)
    assert tally.completed == 0
    assert not tally.passed


def test_tally_jobs_counts_a_completion_without_its_mark_as_lost() -> None:
    # The attempt recorded as completed never ran to its end: its work is missing.
    tally = tally_jobs(
        [A, B], [completed(A, 2), completed(B)], [Mark(A, 1, 10)], workers_killed=True
    )
    assert tally.lost == (A, B)


def test_tally_jobs_an_attempt_marked_twice_is_a_duplicate() -> None:
    tally = tally_jobs([A], [completed(A)], [Mark(A, 1, 10), Mark(A, 1, 11)], workers_killed=True)
    assert tally.duplicated == (A,)
    assert not tally.passed


def test_tally_jobs_a_completion_recorded_for_an_older_attempt_is_a_duplicate() -> None:
    # Attempt 1 was fenced out by attempt 2, yet its completion is the one stored.
    tally = tally_jobs(
        [A], [completed(A, 2, recorded=1)], [Mark(A, 1, 10), Mark(A, 2, 11)], workers_killed=True
    )
    assert tally.duplicated == (A,)


def test_tally_jobs_a_later_attempt_run_to_its_end_is_a_duplicate() -> None:
    tally = tally_jobs(
        [A], [completed(A, 1)], [Mark(A, 1, 10), Mark(A, 2, 11)], workers_killed=True
    )
    assert tally.duplicated == (A,)


def test_tally_jobs_a_rerun_after_kills_is_at_least_once_and_a_duplicate_without() -> None:
    states, marks = (
        [completed(A, 2), completed(B)],
        [Mark(A, 1, 10), Mark(A, 2, 11), Mark(B, 1, 11)],
    )
    killed = tally_jobs([A, B], states, marks, workers_killed=True)
    assert (killed.ran_again, killed.duplicated, killed.passed) == ((A,), (), True)
    quiet = tally_jobs([A, B], states, marks, workers_killed=False)
    assert (quiet.ran_again, quiet.duplicated, quiet.passed) == ((), (A,), False)


def test_tally_jobs_ignores_marks_of_other_jobs() -> None:
    tally = tally_jobs([A], [completed(A)], [Mark(A, 1, 10), Mark(B, 1, 10)], workers_killed=False)
    assert tally.passed
    assert tally.jobs == 1


def test_delete_queue_jobs_removes_that_queue_only_with_its_history(configured: Store) -> None:
    victims = SelftestJob.set(queue="doomed").later_many([None] * 5)
    kept = SelftestJob.set(queue="kept").later(None)
    dependent = SelftestJob.set(queue="kept", depends_on=[victims[0]]).later(None)
    jobmill.cancel(victims[1])  # an event in the history
    assert configured.delete_queue_jobs("doomed", batch_size=2) == 5
    assert configured.queue_states("doomed") == []
    assert [state.id for state in configured.queue_states("kept")] == [kept, dependent]
    assert configured.stored_events(victims[1]) == []
    assert configured.dependency_ids(dependent) == []


def test_queue_states_reads_status_attempts_and_result(configured: Store) -> None:
    first, second = SelftestJob.set(queue="q").later_many([None, None])
    jobmill.cancel(second)
    assert configured.queue_states("q") == [
        JobState(first, "pending", 0, None),
        JobState(second, "cancelled", 0, None),
    ]


def selftest_env(url: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("JOBMILL_")}
    return {**clean, "JOBMILL_DATABASE_URL": url, "NO_COLOR": "1"}


def figures(output: str) -> dict[str, str]:
    """The report's rows: measure -> value."""
    rows = (line.rsplit("  ", 1) for line in output.splitlines() if "  " in line)
    return {name.strip(): value.strip() for name, value in rows}


def test_selftest_refuses_a_job_count_below_one(sqlite_url: str) -> None:
    done = subprocess.run(
        [*SELFTEST, "--jobs", "0"],
        env=selftest_env(sqlite_url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "jobs must be >= 1, got 0" in done.stderr


@pytest.mark.slow
def test_selftest_with_workers_killed_and_stopped_loses_and_duplicates_nothing(
    configured: Store, database_url: str
) -> None:
    done = subprocess.run(
        [*SELFTEST, "--jobs", "2000", "--processes", "3", "--kill-workers", "--seconds", "60"],
        env=selftest_env(database_url),
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    shown = figures(done.stdout)
    assert shown["jobs"] == shown["completed"] == "2,000"
    assert shown["lost"] == shown["duplicate completions"] == "0"
    assert int(shown["kills"]) + int(shown["stops"]) >= 1
    assert float(shown["throughput"].split()[0].replace(",", "")) > 0
    assert done.stdout.rstrip().endswith("passed")
    assert configured.count_jobs() == 0  # its jobs are removed
    assert configured.list_workers() == []  # and its killed workers' rows


@pytest.mark.slow
def test_selftest_without_kills_runs_each_job_exactly_once(sqlite_url: str) -> None:
    done = subprocess.run(
        [*SELFTEST, "--jobs", "1000", "--processes", "2"],
        env=selftest_env(sqlite_url),
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    shown = figures(done.stdout)
    assert (shown["kills"], shown["stops"], shown["completed"]) == ("0", "0", "1,000")
    assert shown["lost"] == shown["duplicate completions"] == "0"  # a rerun counts here


@pytest.mark.slow
def test_selftest_reports_a_job_deleted_while_it_runs_as_lost(
    sqlite_configured: Store, sqlite_url: str, tmp_path: Path
) -> None:
    process = subprocess.Popen(
        [*SELFTEST, "--jobs", "2000", "--seconds", "1"],
        env={**selftest_env(sqlite_url), "TMPDIR": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (queued := sqlite_configured.list_jobs(limit=1)):
            assert time.monotonic() < deadline, "the self-test enqueued nothing"
            time.sleep(0.01)
        victim = queued[0]
        assert victim.queue.startswith("jobmill-selftest-")
        with sqlite_configured.write() as conn:
            conn.execute(delete(jobs).where(jobs.c.id == victim.id))
        stdout, stderr = process.communicate(timeout=90)
    finally:
        process.kill()
    assert process.returncode == 1, stdout + stderr
    shown = figures(stdout)
    assert (shown["lost"], shown["duplicate completions"]) == ("1", "0")
    assert shown["completed"] == "1,999"
    assert f"lost: {victim.id}" in stdout
    assert stdout.rstrip().endswith("FAILED")
    assert sqlite_configured.count_jobs(JobFilter(queue=victim.queue)) == 0
