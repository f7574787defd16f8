"""Text from jobs and the database cannot drive the operator's terminal: ``status``,
``list``, ``stats``, ``cron list``, error lines and worker logs show control
characters escaped, coloured or not; ``--json`` keeps them exact."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import insert, update
from typer.testing import CliRunner, Result

import jobmill
from jobmill import Job
from jobmill.cli import load_commands
from jobmill.cli.logs import LOG_FORMAT, PrintableFormatter
from jobmill.cli.output import printable
from jobmill.store import Store
from jobmill.store.schema import cron_jobs, jobs

# Sets the terminal's title, then clears the screen; then a right-to-left override.
HOSTILE = "\x1b]0;pwned\x07\x1b[2J\u202egnp.exe"
SHOWN = "\\x1b]0;pwned\\x07\\x1b[2J\\u202egnp.exe"
RAW_CONTROLS = ("\x1b]", "\x07", "\x1b[2J", "\u202e")


class HostileJob(Job[None, None]):
    max_attempts = 1

    def perform(self, params: None) -> None:
        self.update_progress(50, HOSTILE)
        raise ValueError(HOSTILE)


def cli(*args: str, color: bool) -> Result:
    env = {"FORCE_COLOR": "1", "NO_COLOR": ""} if color else {"NO_COLOR": "1"}
    return CliRunner().invoke(load_commands(), list(args), env=env, catch_exceptions=False)


def hostile_job(store: Store) -> str:
    with pytest.raises(jobmill.JobFailed) as caught:
        HostileJob.now()
    job_id = caught.value.metadata.id
    with store.engine.begin() as conn:  # names and queues written by other software
        conn.execute(
            update(jobs).where(jobs.c.id == job_id).values(job_name=HOSTILE, queue=HOSTILE)
        )
    return job_id


def assert_escaped(output: str) -> None:
    for raw in RAW_CONTROLS:
        assert raw not in output
    assert SHOWN in output


@pytest.mark.parametrize("color", [False, True], ids=["plain", "colour"])
def test_status_list_and_stats_show_control_characters_escaped(
    configured: Store, color: bool
) -> None:
    job_id = hostile_job(configured)
    status = cli("status", job_id, color=color)
    assert status.exit_code == 0, status.output
    assert_escaped(status.stdout)
    assert status.stdout.count(SHOWN) >= 4  # name, queue, progress message, error, events
    listing = cli("list", color=color)
    assert listing.exit_code == 0
    for raw in RAW_CONTROLS:
        assert raw not in listing.stdout
    assert "\\x1b]0;pwned" in listing.stdout
    stats = cli("stats", color=color)
    assert stats.exit_code == 0
    for raw in RAW_CONTROLS:
        assert raw not in stats.stdout


@pytest.mark.parametrize("color", [False, True], ids=["plain", "colour"])
def test_cron_list_shows_control_characters_escaped(configured: Store, color: bool) -> None:
    with configured.engine.begin() as conn:
        conn.execute(
            insert(cron_jobs).values(
                name=HOSTILE, job_name="HostileJob", cron_expression="@daily", last_error=HOSTILE
            )
        )
    result = cli("cron", "list", color=color)
    assert result.exit_code == 0, result.output
    for raw in RAW_CONTROLS:
        assert raw not in result.stdout
    assert "\\x1b]0;pwned" in result.stdout


def test_json_output_keeps_control_characters_exact(configured: Store) -> None:
    job_id = hostile_job(configured)
    record = json.loads(cli("status", job_id, "--json", color=False).stdout)
    assert record["error"] == f"ValueError: {HOSTILE}"
    assert record["job_name"] == HOSTILE and record["progress_message"] == HOSTILE
    [listed] = json.loads(cli("list", "--json", color=False).stdout)
    assert listed["queue"] == HOSTILE


@pytest.mark.parametrize("color", [False, True], ids=["plain", "colour"])
def test_error_lines_show_control_characters_escaped(configured: Store, color: bool) -> None:
    result = cli("status", HOSTILE, color=color)
    assert result.exit_code == 1
    for raw in RAW_CONTROLS:
        assert raw not in result.stderr


def test_worker_log_lines_show_control_characters_escaped() -> None:
    record = logging.LogRecord(
        "jobmill.worker", logging.INFO, "", 0, "failed: %s", (HOSTILE,), None
    )
    line = PrintableFormatter(LOG_FORMAT).format(record)
    assert line.endswith(f"failed: {SHOWN}")


def test_printable_keeps_text_and_lines() -> None:
    assert printable("naïve ☃ 日本") == "naïve ☃ 日本"
    assert printable("a\nb\tc\r") == "a\\nb\\tc\\r"
    assert printable("a\nb\tc\x9b", multiline=True) == "a\nb\tc\\x9b"
