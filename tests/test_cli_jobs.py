"""``list``, ``status``, ``run``, job commands, ``retry``, ``cancel``, ``prune`` through
the real Typer application, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import update
from typer.testing import CliRunner, Result

import cli_jobs
import jobmill
from jobmill.cli import load_commands
from jobmill.clock import utcnow
from jobmill.humanize import format_time
from jobmill.records import JobMetadata
from jobmill.store import JobFilter, Store
from jobmill.store.schema import jobs

pytestmark = [pytest.mark.usefixtures("configured"), pytest.mark.through_pgbouncer]


def cli(*args: str) -> Result:
    return CliRunner().invoke(load_commands(), list(args), catch_exceptions=False)


def greet_now(name: str = "Ada", times: int = 1) -> JobMetadata:
    return cli_jobs.CliGreetJob.now(name=name, times=times).metadata


def fail_now(code: int = 1) -> JobMetadata:
    with pytest.raises(jobmill.JobFailed) as caught:
        cli_jobs.CliFailJob.now(code=code)
    return caught.value.metadata


def age(store: Store, job_id: str, days: float) -> None:
    """Pretend the job finished ``days`` ago (tests may write rows; the CLI never does)."""
    finished = utcnow() - timedelta(days=days)
    with store.write() as conn:
        conn.execute(
            update(jobs).where(jobs.c.id == job_id).values(completed_at=finished, started_at=None)
        )


# list ---------------------------------------------------------------------


def test_list_without_jobs_says_so() -> None:
    result = cli("list")
    assert result.exit_code == 0
    assert result.stdout.strip() == "No jobs."


def test_list_shows_newest_first_with_every_column() -> None:
    done = greet_now()
    failed = fail_now()
    pending = cli_jobs.CliGreetJob.later(name="Bob")
    result = cli("list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "id", "job", "status", "progress", "created", "(UTC)", "completed", "(UTC)",
        "duration", "attempts",
    ]  # fmt: skip
    rows = [line.split() for line in lines[1:]]
    assert [row[1:3] for row in rows] == [
        ["CliGreetJob", "pending"],
        ["CliFailJob", "failed"],
        ["CliGreetJob", "completed"],
    ]
    assert [pending.startswith(rows[0][0]), failed.id.startswith(rows[1][0])] == [True, True]
    assert done.id.startswith(rows[2][0])
    assert rows[2][3] == "100%"
    assert rows[0][-1] == "0/3"
    assert rows[2][-1] == "1/1"
    assert "\x1b[" not in result.stdout  # plain when stdout is not a terminal


def test_list_filters_and_limits() -> None:
    greet_now()
    fail_now(1)
    fail_now(2)
    cli_jobs.CliNestedJob.later(target={"host": "h", "port": 1})
    assert _listed("--status", "failed") == ["CliFailJob", "CliFailJob"]
    assert _listed("--name", "CliGreetJob") == ["CliGreetJob"]
    assert _listed("--queue", "cli-nested") == ["CliNestedJob"]
    assert _listed("--status", "failed", "--limit", "1") == ["CliFailJob"]
    assert _listed("--limit", "2", "--offset", "1") == ["CliFailJob", "CliFailJob"]
    result = cli("list", "--status", "running", "--name", "CliFailJob")
    assert result.stdout.strip() == "No jobs match these filters."


def _listed(*args: str) -> list[str]:
    result = cli("list", "--json", *args)
    assert result.exit_code == 0
    return [record["job_name"] for record in json.loads(result.stdout)]


def test_list_json_is_an_array_keyed_by_job_metadata_fields() -> None:
    done = greet_now(times=2)
    [record] = json.loads(cli("list", "--json").stdout)
    assert set(JobMetadata.model_fields) | {"duration"} == set(record)
    assert record["id"] == done.id
    assert record["status"] == "completed"
    assert record["result"] == {"greeting": "hello Ada, hello Ada"}
    assert record["params"] == {"name": "Ada", "times": 2, "loud": False}


@pytest.mark.parametrize("args", [["--status", "done"], ["--limit", "0"]])
def test_list_rejects_bad_options(args: list[str]) -> None:
    result = cli("list", *args)
    assert result.exit_code == 2
    assert args[0] in result.stderr


# status -------------------------------------------------------------------


def test_status_shows_record_params_result_progress_and_events() -> None:
    done = greet_now(times=2)
    result = cli("status", done.id[:20])
    assert result.exit_code == 0
    out = result.stdout
    assert out.startswith(f"CliGreetJob {done.id}")
    assert "completed" in out
    assert '"name": "Ada"' in out
    assert '"greeting": "hello Ada, hello Ada"' in out
    assert "Progress" in out
    assert "greeted 1" in out
    assert "greeted 2" in out
    assert "last held by now:" in out
    assert "Events" in out
    for kind in ("enqueued", "started", "completed"):
        assert kind in out


def test_status_shows_error_traceback_and_operator_source() -> None:
    failed = fail_now(code=7)
    jobmill.retry(failed.id, source="cli:tester@box")
    cli_jobs.CliFailJob.execute_from_database(failed.id)
    out = cli("status", failed.id).stdout
    assert "RuntimeError: cli failure 7" in out
    assert "Traceback" in out
    assert 'raise RuntimeError(f"cli failure' in out
    assert "retried" in out
    assert "cli:tester@box" in out


def test_status_of_a_running_job_shows_its_lock_and_cancel_asks_it_to_stop(
    configured: Store,
) -> None:
    job_id = cli_jobs.CliGreetJob.later(name="busy")
    [claimed] = configured.claim_jobs("cli-test-worker", 1, lock_timeout=600)
    assert claimed.id == job_id
    out = cli("status", job_id).stdout
    assert "held by cli-test-worker until" in out
    assert "(in 9m" in out
    result = cli("cancel", job_id)
    assert result.exit_code == 0
    assert "is running: its worker was asked to stop it (by cli:" in result.stdout
    assert jobmill.get(job_id).cancel_requested
    assert "cancel_requested" in cli("status", job_id).stdout


def test_status_json_has_the_record_history_and_dependencies() -> None:
    first = cli_jobs.CliGreetJob.later(name="a")
    second = cli_jobs.CliGreetJob.set(depends_on=[first]).later(name="b")
    data = json.loads(cli("status", second, "--json").stdout)
    assert data["id"] == second
    assert data["status"] == "pending"
    assert data["depends_on"] == [first]
    assert [event["kind"] for event in data["history"]] == ["enqueued"]


def test_status_of_a_chained_job_names_the_jobs_waiting_for_it() -> None:
    first, second = jobmill.chain(
        cli_jobs.CliGreetJob.step(name="a"), cli_jobs.CliGreetJob.step(name="b")
    )
    shown = cli("status", first).stdout
    assert re.search(rf"^needed by\s+{second}$", shown, re.MULTILINE)
    assert json.loads(cli("status", first, "--json").stdout)["dependents"] == [second]
    assert json.loads(cli("status", second, "--json").stdout)["dependents"] == []


def test_status_of_an_unknown_id_exits_1() -> None:
    result = cli("status", "ffffffff")
    assert result.exit_code == 1
    assert "no job with id or prefix 'ffffffff'" in result.stderr
    assert result.stdout == ""


def test_status_of_an_ambiguous_prefix_lists_candidates_and_exits_2() -> None:
    ids = cli_jobs.CliGreetJob.later_many([{"name": "a"}, {"name": "b"}])
    prefix = _common_prefix(*ids)
    result = cli("status", prefix)
    assert result.exit_code == 2
    assert f"id prefix {prefix!r} matches several jobs" in result.stderr
    for job_id in ids:
        assert job_id in result.stderr


def _common_prefix(a: str, b: str) -> str:
    length = next(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)
    return a[:length]


# run and job commands ------------------------------------------------------


def test_run_prints_progress_on_stderr_and_the_result_on_stdout(configured: Store) -> None:
    result = cli(
        "run", "CliGreetJob", "--param", "name=Ada Lovelace", "--param", "times=4",
        "--param", "loud=true",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"greeting": ", ".join(["HELLO ADA LOVELACE"] * 4)}
    progress = [line.strip() for line in result.stderr.splitlines() if "%" in line]
    assert progress == ["25% greeted 1", "50% greeted 2", "75% greeted 3", "100% greeted 4"]
    [record] = configured.list_jobs()
    assert record.status == "completed"
    assert f"CliGreetJob {record.id} completed" in result.stderr


def test_run_json_prints_the_final_record() -> None:
    result = cli("run", "CliGreetJob", "-p", "name=x", "--json")
    data = json.loads(result.stdout)
    assert data["status"] == "completed"
    assert data["result"] == {"greeting": "hello x"}


def test_run_builds_nested_params_from_dotted_keys() -> None:
    result = cli(
        "run", "CliNestedJob", "-p", "target.host=db.local", "-p", "target.port=5432",
        "-p", 'tags=["a", "b"]', "-p", 'extra={"deep": {"x": null}}',
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "target": {"host": "db.local", "port": 5432},
        "tags": ["a", "b"],
        "extra": {"deep": {"x": None}},
    }


def test_run_later_enqueues_and_prints_only_the_id(configured: Store) -> None:
    result = cli("run", "CliGreetJob", "--later", "-p", "name=Bob", "--queue", "cli-q")
    assert result.exit_code == 0
    job_id = result.stdout.strip()
    record = jobmill.get(job_id)
    assert (record.status, record.queue, record.params["name"]) == ("pending", "cli-q", "Bob")


def test_run_with_delay_schedules_the_job() -> None:
    result = cli("run", "CliGreetJob", "-p", "name=later", "--delay", "2h", "--priority", "7")
    record = jobmill.get(result.stdout.strip())
    assert record.status == "pending"
    assert record.priority == 7
    assert timedelta(minutes=119) < record.run_at - utcnow() <= timedelta(hours=2)
    assert f"to run at {format_time(record.run_at)} UTC" in result.stderr
    assert "to run at" not in cli("run", "CliGreetJob", "-p", "name=now", "--later").stderr


def test_run_failure_exits_1_with_the_error(configured: Store) -> None:
    result = cli("run", "CliFailJob", "-p", "code=3")
    assert result.exit_code == 1
    assert "failed: RuntimeError: cli failure 3" in result.stderr
    assert result.stdout == ""
    [record] = configured.list_jobs()
    assert record.status == "failed"
    assert f"jobmill status {record.id}" in result.stderr


def test_run_failure_prints_an_error_with_brackets_as_written(configured: Store) -> None:
    # Rich markup in an error ("[/bold]" closes nothing) must print, not crash.
    result = cli("run", "CliFailJob", "-p", "code=closes [/bold] and [red]x[/red]")
    assert result.exit_code == 1
    assert "RuntimeError: cli failure closes [/bold] and [red]x[/red]" in result.stderr
    [record] = configured.list_jobs()
    assert record.status == "failed"


def test_run_with_invalid_params_names_the_field_and_enqueues_nothing(
    configured: Store,
) -> None:
    result = cli("run", "CliGreetJob", "-p", "times=many", "--later")
    assert result.exit_code == 2
    assert "invalid params for CliGreetJob; nothing was enqueued" in result.stderr
    assert "name: required (add --param name=...)" in result.stderr
    assert "times: Input should be a valid integer" in result.stderr
    assert "(got 'many')" in result.stderr
    assert configured.count_jobs() == 0


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("name", "--param 'name': expected key=value"),
        ("tags=[1,", "--param 'tags=[1,': invalid JSON"),
        ("bad key=1", "invalid key 'bad key'"),
    ],
)
def test_run_with_malformed_param_exits_2_and_enqueues_nothing(
    configured: Store, param: str, message: str
) -> None:
    result = cli("run", "CliGreetJob", "--param", param)
    assert result.exit_code == 2
    assert message in result.stderr
    assert configured.count_jobs() == 0


def test_run_with_bad_delay_exits_2(configured: Store) -> None:
    result = cli("run", "CliGreetJob", "-p", "name=x", "--delay", "soon")
    assert result.exit_code == 2
    assert "--delay: invalid duration 'soon'" in result.stderr
    assert configured.count_jobs() == 0


def test_run_with_an_empty_queue_exits_2(configured: Store) -> None:
    result = cli("run", "CliGreetJob", "-p", "name=x", "--queue", " ", "--later")
    assert result.exit_code == 2
    assert "queue must be a non-empty string" in result.stderr
    assert configured.count_jobs() == 0


def test_run_unknown_job_exits_2_listing_registered_names() -> None:
    result = cli("run", "NoSuchJob")
    assert result.exit_code == 2
    assert "unknown job 'NoSuchJob'" in result.stderr
    assert "CliGreetJob" in result.stderr


def test_run_accepts_a_cli_name() -> None:
    result = cli("run", "cli-greet", "-p", "name=by-alias")
    assert json.loads(result.stdout) == {"greeting": "hello by-alias"}


def test_cli_name_is_a_command_of_its_own() -> None:
    result = cli("cli-greet", "--param", "name=Grace", "--param", "times=2")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"greeting": "hello Grace, hello Grace"}
    assert "100% greeted 2" in result.stderr


def test_cli_name_command_validates_and_queues_like_run(configured: Store) -> None:
    bad = cli("cli-greet", "--param", "times=2")
    assert bad.exit_code == 2
    assert "name: required" in bad.stderr
    queued = cli("cli-greet", "--param", "name=Q", "--later")
    assert jobmill.get(queued.stdout.strip()).status == "pending"
    assert configured.count_jobs() == 1


def test_unknown_command_exits_2() -> None:
    result = cli("no-such-command")
    assert result.exit_code == 2
    assert "No such command 'no-such-command'" in result.stderr


# retry, cancel ---------------------------------------------------------------


def test_retry_brings_a_failed_job_back_and_records_the_operator() -> None:
    failed = fail_now()
    result = cli("retry", failed.id[:20])
    assert result.exit_code == 0
    assert f"CliFailJob {failed.id} is pending again (retried by cli:" in result.stdout
    assert jobmill.get(failed.id).status == "pending"
    [retried] = [event for event in jobmill.history(failed.id) if event.kind == "retried"]
    assert retried.source is not None
    assert retried.source.startswith("cli:")
    assert "@" in retried.source


def test_retry_all_failed_with_a_name_filter(configured: Store) -> None:
    fail_now(1)
    fail_now(2)
    greet_now()
    result = cli("retry", "--all-failed", "--name", "CliFailJob")
    assert result.exit_code == 0
    assert "Retried 2 failed CliFailJob jobs" in result.stdout
    assert configured.count_jobs(JobFilter(status=jobmill.JobStatus.FAILED)) == 0
    assert configured.count_jobs(JobFilter(status=jobmill.JobStatus.PENDING)) == 2
    assert "Retried 0 failed jobs" in cli("retry", "--all-failed").stdout


def test_retry_of_a_completed_job_exits_1() -> None:
    done = greet_now()
    result = cli("retry", done.id)
    assert result.exit_code == 1
    assert "only failed or cancelled jobs can be retried" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give either a job ID or --all-failed"),
        (["0123", "--all-failed"], "give either a job ID or --all-failed"),
        (["0123", "--name", "X"], "--name goes with --all-failed"),
    ],
)
def test_retry_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = cli("retry", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_retry_of_an_unknown_job_exits_1() -> None:
    assert cli("retry", "ffffffff").exit_code == 1


def test_cancel_a_pending_job_records_the_operator() -> None:
    job_id = cli_jobs.CliGreetJob.later(name="x")
    result = cli("cancel", job_id)
    assert result.exit_code == 0
    assert f"CliGreetJob {job_id} is cancelled (by cli:" in result.stdout
    [event] = [e for e in jobmill.history(job_id) if e.kind == "cancelled"]
    assert event.source is not None
    assert event.source.startswith("cli:")


def test_cancel_of_a_finished_job_exits_1_and_of_an_unknown_one_exits_1() -> None:
    done = greet_now()
    result = cli("cancel", done.id)
    assert result.exit_code == 1
    assert "only pending or running jobs can be cancelled" in result.stderr
    assert cli("cancel", "ffffffff").exit_code == 1


def test_discard_a_failed_job_records_the_operator() -> None:
    failed = fail_now()
    result = cli("discard", failed.id[:13])
    assert result.exit_code == 0, result.output
    assert f"{failed.job_name} {failed.id} is discarded (by cli:" in result.stdout
    assert jobmill.get(failed.id).status == "cancelled"
    [event] = [e for e in jobmill.history(failed.id) if e.kind == "discarded"]
    assert event.source is not None and event.source.startswith("cli:")

    again = cli("discard", failed.id)
    assert again.exit_code == 1
    assert "only failed jobs can be discarded" in again.stderr


# prune ------------------------------------------------------------------------


def test_prune_deletes_old_finished_jobs_only(configured: Store) -> None:
    old_done, old_failed, recent = greet_now(), fail_now(), greet_now()
    pending = cli_jobs.CliGreetJob.later(name="p")
    age(configured, old_done.id, 40)
    age(configured, old_failed.id, 40)
    age(configured, recent.id, 5)
    result = cli("prune", "--older-than", "30d", "--status", "completed")
    assert result.exit_code == 0
    assert "Pruned 1 jobs (completed) finished before" in result.stdout
    assert "by cli:" in result.stdout
    remaining = {record.id for record in configured.list_jobs()}
    assert remaining == {old_failed.id, recent.id, pending}
    result = cli("prune", "--older-than", "30d")
    assert "Pruned 1 jobs (cancelled, completed, failed)" in result.stdout
    assert {record.id for record in configured.list_jobs()} == {recent.id, pending}


def test_prune_dry_run_counts_by_status_and_deletes_nothing(configured: Store) -> None:
    old_done, old_failed, recent = greet_now(), fail_now(), greet_now()
    age(configured, old_done.id, 40)
    age(configured, old_failed.id, 40)
    age(configured, recent.id, 5)
    result = cli("prune", "--older-than", "30d", "--dry-run")
    assert result.exit_code == 0
    assert "Would prune 2 jobs (cancelled 0, completed 1, failed 1) finished before" in (
        result.stdout
    )
    assert "nothing was deleted" in result.stdout
    assert configured.count_jobs() == 3
    result = cli("prune", "--older-than", "30d", "--status", "failed", "--dry-run")
    assert "Would prune 1 jobs (failed 1)" in result.stdout
    assert configured.count_jobs() == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--older-than", "30"], "--older-than: invalid duration '30'"),
        (["--older-than", "1d", "--status", "pending"], "only finished jobs"),
        (["--older-than", "1d", "--status", "bogus"], "--status"),
        ([], "--older-than"),
    ],
)
def test_prune_usage_errors_exit_2(configured: Store, args: list[str], message: str) -> None:
    greet_now()
    result = cli("prune", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert configured.count_jobs() == 1
