"""``stats``, ``workers``, ``jobs``, ``help``, ``--import`` and ``db upgrade`` through the
real Typer application; the ``StatsOps`` queries on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update
from typer.testing import CliRunner, Result

import cli_jobs
import jobmill
from jobmill import runtime
from jobmill.cli import load_commands
from jobmill.clock import utcnow
from jobmill.states import JobStatus
from jobmill.store import Store
from jobmill.store.queries import JobFilter
from jobmill.store.schema import jobs
from jobmill.store.stats import is_live


def cli(*args: str) -> Result:
    return CliRunner().invoke(load_commands(), list(args), catch_exceptions=False)


def finish(store: Store, job_id: str, status: str, started: datetime, seconds: float) -> None:
    """Make a stored job look finished at a chosen time (the CLI itself never writes SQL)."""
    with store.write() as conn:
        conn.execute(
            update(jobs)
            .where(jobs.c.id == job_id)
            .values(
                status=status,
                started_at=started,
                completed_at=started + timedelta(seconds=seconds),
                attempts=1,
            )
        )


@pytest.fixture
def history(configured: Store) -> Store:
    """CliGreetJob: 20 runs of 1..20 s; CliNestedJob: one of 3.5 s; one failure; one
    completed two days ago; two pending jobs on two queues."""
    now = utcnow()
    ids = cli_jobs.CliGreetJob.later_many([{"name": str(i)} for i in range(23)])
    for seconds, job_id in enumerate(ids[:20], start=1):
        finish(configured, job_id, "completed", now - timedelta(minutes=30), seconds)
    finish(configured, ids[20], "failed", now - timedelta(hours=3), 1)
    finish(configured, ids[21], "completed", now - timedelta(days=2), 500)
    nested = cli_jobs.CliNestedJob.later(target={"host": "h", "port": 1})
    finish(configured, nested, "completed", now - timedelta(minutes=5), 3.5)
    cli_jobs.CliNestedJob.later(target={"host": "h", "port": 2})
    return configured


# StatsOps -------------------------------------------------------------------


def test_count_jobs_by_queue_and_status(history: Store) -> None:
    assert history.count_jobs_by_queue_and_status() == {
        ("default", JobStatus.COMPLETED): 21,
        ("default", JobStatus.FAILED): 1,
        ("default", JobStatus.PENDING): 1,
        ("cli-nested", JobStatus.COMPLETED): 1,
        ("cli-nested", JobStatus.PENDING): 1,
    }


def test_counts_by_queue_and_status_take_every_row_once(history: Store) -> None:
    # Counted in parts (pending, running, the rest): a running job, and a
    # status jobmill does not know, each fall in exactly one of them.
    pending = history.list_jobs(JobFilter(status=JobStatus.PENDING))
    assert len(pending) == 2
    with history.write() as conn:
        conn.execute(update(jobs).where(jobs.c.id == pending[0].id).values(status="running"))
        conn.execute(update(jobs).where(jobs.c.id == pending[1].id).values(status="archived"))
    counts = history.count_jobs_by_queue_and_status()
    assert counts[(pending[0].queue, JobStatus.RUNNING)] == 1
    assert counts[(pending[1].queue, "archived")] == 1
    assert not any(status is JobStatus.PENDING for _, status in counts)
    assert sum(counts.values()) == history.count_jobs()


def test_count_finished_since_counts_each_window(history: Store) -> None:
    now = utcnow()
    assert history.count_finished_since(now - timedelta(hours=1)) == {
        JobStatus.CANCELLED: 0,
        JobStatus.COMPLETED: 21,
        JobStatus.FAILED: 0,
    }
    day = history.count_finished_since(now - timedelta(days=1))
    assert (day[JobStatus.COMPLETED], day[JobStatus.FAILED]) == (21, 1)


def test_job_duration_percentiles_are_nearest_rank_per_job(history: Store) -> None:
    greet, nested = history.job_duration_percentiles(utcnow() - timedelta(days=1))
    assert greet.job_name == "CliGreetJob"
    assert greet.count == 20  # the run from two days ago is outside the window
    assert [greet.p50, greet.p95, greet.p99, greet.max] == pytest.approx([10, 19, 20, 20], abs=0.01)
    assert nested.job_name == "CliNestedJob"
    assert (nested.count, nested.p50, nested.max) == (1, 3.5, 3.5)


def test_is_live_uses_the_stale_threshold() -> None:
    now = utcnow()
    assert is_live(now - timedelta(seconds=299), 300, now)
    assert not is_live(now - timedelta(seconds=301), 300, now)


# stats ------------------------------------------------------------------------


def test_stats_prints_counts_throughput_and_durations(history: Store) -> None:
    result = cli("stats")
    assert result.exit_code == 0
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines() if line.strip()}
    # queue pending running completed failed cancelled total
    assert rows["default"][1:] == ["1", "0", "21", "1", "0", "23"]
    assert rows["cli-nested"][1:] == ["1", "0", "1", "0", "0", "2"]
    assert rows["all"][1:] == ["2", "0", "22", "1", "0", "25"]
    assert "last hour" in result.stdout
    assert rows["CliGreetJob"][1:] == ["20", "10.0", "s", "19.0", "s", "20.0", "s", "20.0", "s"]


def test_stats_json(history: Store) -> None:
    data = json.loads(cli("stats", "--json").stdout)
    assert {"queue": "default", "status": "failed", "count": 1} in data["counts"]
    assert data["throughput"]["last_hour"] == {"cancelled": 0, "completed": 21, "failed": 0}
    assert data["throughput"]["last_day"]["failed"] == 1
    greet = next(d for d in data["durations"] if d["job_name"] == "CliGreetJob")
    assert greet["count"] == 20
    assert greet["p95"] == pytest.approx(19, abs=0.01)


def test_stats_rate_of_a_few_jobs_a_day_is_not_shown_as_zero(configured: Store) -> None:
    cli_jobs.CliGreetJob.now(name="once")
    lines = cli("stats").stdout.splitlines()
    [hour] = [line for line in lines if line.startswith("last hour")]
    [day] = [line for line in lines if line.startswith("last day")]
    assert hour.split()[-1] == "0.02"  # 1 job / 60 minutes
    assert day.split()[-1] == "<0.01"  # 1 job / 1440 minutes


def test_stats_on_an_empty_database(configured: Store) -> None:
    result = cli("stats")
    assert result.exit_code == 0
    assert "No job completed in the last day." in result.stdout


# workers ----------------------------------------------------------------------


def test_workers_lists_live_and_stale(configured: Store) -> None:
    now = utcnow()
    configured.register_worker("cli-live", "host-a", 11, ["default"], 4, now=now)
    configured.register_worker("cli-stale", "host-b", 22, None, 2, now=now - timedelta(hours=1))
    result = cli("workers")
    assert result.exit_code == 0
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:]}
    assert rows["cli-live"][1:7] == ["live", "host-a", "11", "default", "4", "0"]
    assert rows["cli-stale"][1:7] == ["stale", "host-b", "22", "all", "2", "0"]
    data = {w["id"]: w for w in json.loads(cli("workers", "--json").stdout)}
    assert (data["cli-live"]["live"], data["cli-stale"]["live"]) == (True, False)
    assert data["cli-live"]["queues"] == ["default"]


def test_workers_when_none_registered(configured: Store) -> None:
    assert "No workers registered" in cli("workers").stdout


# jobs, help, --import ------------------------------------------------------------


def test_jobs_lists_registered_jobs_with_their_params() -> None:
    result = cli("jobs")
    assert result.exit_code == 0
    out = result.stdout
    assert "CliGreetJob  (jobmill cli-greet)" in out
    assert "--param name=<string> (required)" in out
    assert "--param times=<integer> = 1" in out
    assert "--param target=<Target> (required)" in out


def test_jobs_json_and_one_job_in_full() -> None:
    [info] = json.loads(cli("jobs", "CliGreetJob", "--json").stdout)
    assert info["job_name"] == "CliGreetJob"
    assert info["cli_name"] == "cli-greet"
    assert info["max_attempts"] == 3
    assert info["params_schema"]["required"] == ["name"]
    assert '"required": [' in cli("jobs", "CliGreetJob").stdout


def test_jobs_of_an_unknown_name_exits_2() -> None:
    result = cli("jobs", "Nope")
    assert result.exit_code == 2
    assert "unknown job 'Nope'" in result.stderr


def test_no_arguments_and_help_print_commands_with_examples() -> None:
    bare, helped = cli(), cli("help")
    assert bare.exit_code == helped.exit_code == 0
    assert bare.stdout == helped.stdout
    out = helped.stdout
    for command in ("list", "status", "run", "retry", "cancel", "prune", "stats", "workers"):
        assert f"\n  {command} " in out
    assert "$ jobmill list --status failed" in out
    assert "$ jobmill cli-greet --param name=..." in out  # a job's cli_name command
    assert "database_url" in out


def test_help_of_one_command_shows_its_options() -> None:
    result = cli("help", "run")
    assert result.exit_code == 0
    for option in ("--param", "--later", "--queue", "--json", "--import"):
        assert option in result.stdout
    missing = cli("help", "nope")
    assert missing.exit_code == 2
    assert "no command 'nope'" in missing.stderr


@pytest.mark.parametrize(
    ("command", "usage"),
    [
        ("retry", "jobmill retry [OPTIONS] [ID_PREFIX]"),
        ("jobs", "jobmill jobs [OPTIONS] [JOB]"),
        ("help", "jobmill help [OPTIONS] [COMMAND]"),
        ("prune", "-s, --status STATUS"),
    ],
)
def test_help_names_arguments_and_options_plainly(command: str, usage: str) -> None:
    result = cli(command, "--help")
    assert result.exit_code == 0
    assert usage in result.stdout
    assert "[[" not in result.stdout


def test_import_option_of_a_missing_module_exits_2() -> None:
    result = cli("--import", "cli_no_such_module", "list")
    assert result.exit_code == 2
    assert "could not import job module 'cli_no_such_module' (from --import)" in result.stderr
    assert "`imports`" not in result.stderr
    run = cli("run", "CliGreetJob", "--import", "cli_no_such_module")
    assert run.exit_code == 2


def test_a_missing_module_of_the_imports_setting_is_named_as_such(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JOBMILL_IMPORTS", "cli_jobs,cli_no_such_module")
    jobmill.configure(database_url=runtime.get_settings().database_url)
    result = cli("jobs")
    assert result.exit_code == 2
    assert "'cli_no_such_module' (from the `imports` setting)" in result.stderr


def test_db_upgrade_reports_the_revision(sqlite_configured: Store) -> None:
    result = cli("db", "upgrade")
    assert result.exit_code == 0
    assert "jobmill tables are at revision head" in result.stdout


def test_an_unreachable_database_is_reported_with_exit_1() -> None:
    jobmill.configure(database_url="postgresql://nobody@127.0.0.1:1/none")
    try:
        result = cli("list")
    finally:
        runtime.reset()
    assert result.exit_code == 1
    assert "error: database error: connection failed" in result.stderr
    assert "Traceback" not in result.output


def test_workers_json_times_are_iso_8601(configured: Store) -> None:
    configured.register_worker("cli-iso", "host", 1, None, 1)
    [worker] = json.loads(cli("workers", "--json").stdout)
    assert datetime.fromisoformat(worker["heartbeat_at"]).tzinfo is not None
    assert "T" in worker["started_at"]
