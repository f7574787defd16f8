"""``jobmill cron ...`` through the real Typer application: every subcommand and every
error path with its exit code. Commands that read or write entries run on SQLite and
PostgreSQL; input checks, which happen before any query, on SQLite only."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, update
from typer.testing import CliRunner, Result

import cron_jobs  # noqa: F401  (registers the jobs the entries name)
import jobmill
from jobmill.cli import load_commands
from jobmill.store import Store
from jobmill.store.schema import cron_jobs as cron_table

both_databases = pytest.mark.usefixtures("configured")


def cli(*args: str) -> Result:
    return CliRunner().invoke(load_commands(), list(args), catch_exceptions=False)


def add(name: str = "nightly", *extra: str) -> Result:
    return cli(
        "cron", "add", "--name", name, "--job", "CronReportJob", "--cron", "30 2 * * *", *extra
    )


# add ------------------------------------------------------------------------------


def test_add_stores_a_checked_entry(configured: Store) -> None:
    result = add(
        "nightly",
        "--timezone", "Europe/Berlin",
        "--misfire", "backfill",
        "--backfill-limit", "7",
        "--queue", "reports",
        "--priority", "3",
        "--param", "count=4",
        "--param", "label=daily digest",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    entry = configured.get_cron_job("nightly")
    assert result.stdout.startswith(f"Added cron entry 'nightly' (#{entry.id}): CronReportJob")
    assert "next run 20" in result.stdout and ("CET" in result.stdout or "CEST" in result.stdout)
    assert (entry.cron_expression, entry.timezone, entry.params) == (
        "30 2 * * *",
        "Europe/Berlin",
        {"count": 4, "label": "daily digest"},
    )
    assert (entry.misfire_policy, entry.backfill_limit, entry.queue, entry.priority) == (
        "backfill",
        7,
        "reports",
        3,
    )
    assert entry.enabled and entry.next_run_at is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--job", "CronReportJob", "--cron", "61 * * * *"], "is not acceptable, out of range"),
        (["--job", "CronReportJob", "--cron", "0 0 * * * *"], "has 6 fields; expected 5"),
        (["--job", "CronReportJob", "--cron", "@sometimes"], "unknown macro"),
        (["--job", "CronNoSuchJob", "--cron", "@daily"], "unknown job 'CronNoSuchJob'"),
        (["--job", "CronStrictJob", "--cron", "@daily"], "count: required (add --param count=...)"),
        (
            ["--job", "CronReportJob", "--cron", "@daily", "--param", "count=many"],
            "count: Input should be a valid integer",
        ),
        (["--job", "CronReportJob", "--cron", "@daily", "--param", "count"], "expected key=value"),
        (
            ["--job", "CronReportJob", "--cron", "@daily", "--timezone", "Moon/Base"],
            "timezone 'Moon/Base' is not an IANA time zone",
        ),
        (
            ["--job", "CronReportJob", "--cron", "@daily", "--timezone", "Europe"],
            "timezone 'Europe' is not an IANA time zone",
        ),
        (
            ["--job", "CronReportJob", "--cron", "@daily", "--misfire", "later"],
            "misfire policy 'later' is not one of: run_once, skip, backfill",
        ),
        (
            ["--job", "CronReportJob", "--cron", "@daily", "--backfill-limit", "0"],
            "backfill_limit must be an integer from 1 to 10000",
        ),
    ],
)
def test_add_rejects_bad_input_with_exit_2_and_stores_nothing(
    sqlite_configured: Store, args: list[str], message: str
) -> None:
    result = cli("cron", "add", "--name", "bad", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert sqlite_configured.list_cron_jobs() == []


def test_add_with_invalid_params_says_no_entry_was_added(sqlite_configured: Store) -> None:
    result = cli("cron", "add", "--name", "bad", "--job", "CronStrictJob", "--cron", "@daily")
    assert result.exit_code == 2
    assert "invalid params for CronStrictJob; no cron entry was added:" in result.stderr
    assert "enqueued" not in result.stderr


@both_databases
def test_add_rejects_a_taken_or_numeric_name() -> None:
    assert add("nightly").exit_code == 0
    taken = add("nightly")
    assert taken.exit_code == 2
    assert "a cron entry named 'nightly' already exists" in taken.stderr
    numeric = add("12")
    assert numeric.exit_code == 2
    assert "must not be a number" in numeric.stderr


def test_add_reports_a_job_module_that_does_not_import(sqlite_configured: Store) -> None:
    result = add("nightly", "--import", "cron_no_such_module")
    assert result.exit_code == 2
    assert "could not import job module 'cron_no_such_module'" in result.stderr
    assert sqlite_configured.list_cron_jobs() == []


# list -----------------------------------------------------------------------------


@both_databases
def test_list_without_entries_says_so() -> None:
    result = cli("cron", "list")
    assert result.exit_code == 0
    assert result.stdout.startswith("No cron entries.")


def test_list_shows_each_entry_with_its_state(configured: Store) -> None:
    add("nightly", "--timezone", "America/New_York")
    job_id = jobmill.cron.run_cron_job("nightly")
    with configured.engine.begin() as conn:
        conn.execute(
            insert(cron_table).values(
                name="broken",
                job_name="CronReportJob",
                cron_expression="* * *",
                enabled=False,
                last_error="cron expression '* * *' has 3 fields",
            )
        )
    result = cli("cron", "list")
    assert result.exit_code == 0
    header, *rows = result.stdout.splitlines()
    assert header.split()[:7] == ["id", "name", "job", "expression", "timezone", "enabled", "last"]
    assert "next run" in header and "last job" in header and "last error" in header
    broken, nightly = rows
    assert broken.split()[1:3] == ["broken", "CronReportJob"]
    assert " no " in broken and broken.endswith("cron expression '* * *' has 3 fields")
    assert nightly.split()[1:8] == [
        "nightly",
        "CronReportJob",
        "30",
        "2",
        "*",
        "*",
        "*",
    ]
    assert "America/New_York  yes" in nightly
    assert " pending " in nightly and ("EST" in nightly or "EDT" in nightly)
    assert jobmill.get(job_id).status == "pending"


def test_list_marks_a_tick_no_scheduler_has_fired_as_overdue(sqlite_configured: Store) -> None:
    add("nightly")
    add("hourly")
    with sqlite_configured.engine.begin() as conn:
        conn.execute(
            update(cron_table)
            .where(cron_table.c.name == "nightly")
            .values(next_run_at=datetime.now(UTC) - timedelta(hours=3))
        )
    rows = {line.split()[1]: line for line in cli("cron", "list").stdout.splitlines()[1:]}
    assert "UTC (overdue)" in rows["nightly"]
    assert "overdue" not in rows["hourly"]


@both_databases
def test_list_json_uses_the_entry_fields() -> None:
    add("nightly", "--param", "count=2")
    result = cli("cron", "list", "--json")
    [entry] = json.loads(result.stdout)
    assert entry["name"] == "nightly"
    assert entry["params"] == {"count": 2}
    assert entry["enabled"] is True
    assert entry["last_job_status"] is None
    assert set(entry) >= {"next_run_at", "last_run_at", "last_error", "missed_ticks", "timezone"}


# enable, disable, remove, run -----------------------------------------------------------


def test_disable_then_enable_by_name_and_id(configured: Store) -> None:
    add("nightly")
    entry_id = configured.get_cron_job("nightly").id
    disabled = cli("cron", "disable", "nightly")
    assert disabled.exit_code == 0
    assert disabled.stdout.strip() == f"Disabled cron entry 'nightly' (#{entry_id})"
    assert not configured.get_cron_job("nightly").enabled
    assert configured.get_cron_job("nightly").next_run_at is None
    enabled = cli("cron", "enable", str(entry_id))
    assert enabled.exit_code == 0
    assert enabled.stdout.startswith(f"Enabled cron entry 'nightly' (#{entry_id}); next run 20")
    assert configured.get_cron_job("nightly").next_run_at is not None


def test_enable_refuses_an_entry_that_would_be_disabled_again(configured: Store) -> None:
    with configured.engine.begin() as conn:
        conn.execute(
            insert(cron_table).values(
                name="broken", job_name="CronReportJob", cron_expression="99 * * * *", enabled=False
            )
        )
    result = cli("cron", "enable", "broken")
    assert result.exit_code == 2
    assert "out of range" in result.stderr
    assert not configured.get_cron_job("broken").enabled


def test_run_enqueues_one_job_now_and_records_the_cli_operator(configured: Store) -> None:
    add("nightly", "--param", "count=9")
    result = cli("cron", "run", "nightly")
    assert result.exit_code == 0
    record = jobmill.get(result.stdout.strip())
    entry = configured.get_cron_job("nightly")
    assert (record.job_name, record.params["count"], record.cron_job_id) == (
        "CronReportJob",
        9,
        entry.id,
    )
    [event] = [e for e in jobmill.history(record.id) if e.kind == "cron_run"]
    assert event.source is not None and event.source.startswith("cli:")
    assert entry.last_job_id == record.id


def test_remove_deletes_the_entry(configured: Store) -> None:
    add("nightly")
    result = cli("cron", "remove", "nightly")
    assert result.exit_code == 0
    assert result.stdout.startswith("Removed cron entry 'nightly'")
    assert configured.list_cron_jobs() == []


@pytest.mark.parametrize("command", ["enable", "disable", "remove", "run"])
@both_databases
def test_an_unknown_entry_exits_1(command: str) -> None:
    result = cli("cron", command, "nope")
    assert result.exit_code == 1
    assert "no cron entry named or numbered 'nope'" in result.stderr


# next -----------------------------------------------------------------------------


@pytest.mark.usefixtures("sqlite_configured")
def test_next_previews_times_on_the_zone_clock_and_in_utc() -> None:
    result = cli("cron", "next", "30 2 * * *", "-n", "3", "--timezone", "Europe/Berlin")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    for line in lines:
        local, utc = line.split("  ")
        assert local.endswith(("02:30 CET", "02:30 CEST"))
        assert utc.endswith(" UTC)")


@pytest.mark.usefixtures("sqlite_configured")
def test_next_json_defaults_to_five_utc_times() -> None:
    result = cli("cron", "next", "@hourly", "--json")
    times = [datetime.fromisoformat(value) for value in json.loads(result.stdout)]
    assert len(times) == 5
    assert all(moment.tzinfo == UTC and moment.minute == 0 for moment in times)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["61 * * * *"], "out of range"),
        (["@daily", "--timezone", "Nowhere"], "timezone 'Nowhere'"),
        (["@daily", "-n", "0"], "-n"),
    ],
)
@pytest.mark.usefixtures("sqlite_configured")
def test_next_rejects_bad_input_with_exit_2(args: list[str], message: str) -> None:
    result = cli("cron", "next", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_next_of_an_entry_uses_its_expression_and_zone(configured: Store) -> None:
    assert add("nightly", "--timezone", "Europe/Berlin").exit_code == 0
    entry = configured.get_cron_job("nightly")

    for reference in ("nightly", str(entry.id)):
        result = cli("cron", "next", reference, "-n", "2")
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert len(lines) == 2
        assert all(line.split("  ")[0].endswith(("02:30 CET", "02:30 CEST")) for line in lines)

    unknown = cli("cron", "next", "no-such-entry")
    assert unknown.exit_code == 2
    assert "no-such-entry" in unknown.stderr
