"""Progress listeners (``Dispatch.on_progress``), which feed ``jobmill run``'s live bar."""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

import cli_jobs
from jobmill.cli import load_commands
from jobmill.outcomes import ProgressUpdate
from jobmill.store import Store

pytestmark = pytest.mark.usefixtures("sqlite_configured")


def test_listeners_see_every_update_of_now_in_order() -> None:
    seen: list[ProgressUpdate] = []
    result = cli_jobs.CliGreetJob.set().on_progress(seen.append).now(name="x", times=4)
    assert result.ok
    assert [(u.percent, u.message) for u in seen] == [
        (25, "greeted 1"),
        (50, "greeted 2"),
        (75, "greeted 3"),
        (100, "greeted 4"),
    ]


def test_listeners_of_an_async_job_under_now_and_anow() -> None:
    seen: list[float] = []
    dispatch = cli_jobs.CliAsyncCountJob.set().on_progress(lambda u: seen.append(u.percent))
    assert dispatch.now(steps=2).data == 2
    assert asyncio.run(dispatch.anow(steps=4)).data == 4
    assert seen == [50, 100, 25, 50, 75, 100]


def test_listeners_survive_set_and_accumulate() -> None:
    first: list[float] = []
    second: list[float] = []
    dispatch = (
        cli_jobs.CliGreetJob.set()
        .on_progress(lambda u: first.append(u.percent))
        .set(queue="cli-progress")
        .on_progress(lambda u: second.append(u.percent))
    )
    assert dispatch.now(name="x", times=2).metadata.queue == "cli-progress"
    assert first == second == [50, 100]


def test_listeners_of_execute_from_database_and_batch(sqlite_configured: Store) -> None:
    seen: list[float] = []
    job_id = cli_jobs.CliGreetJob.later(name="stored", times=2)
    dispatch = cli_jobs.CliGreetJob.set().on_progress(lambda u: seen.append(u.percent))
    assert dispatch.execute_from_database(job_id).ok
    assert seen == [50, 100]
    seen.clear()
    results = dispatch.batch([{"name": "a", "times": 2}, {"name": "b", "times": 2}])
    assert all(result.ok for result in results)
    assert sorted(seen) == [50, 50, 100, 100]


def test_later_stores_without_calling_listeners(sqlite_configured: Store) -> None:
    seen: list[ProgressUpdate] = []
    cli_jobs.CliGreetJob.set().on_progress(seen.append).later(name="queued")
    assert seen == []
    assert sqlite_configured.count_jobs() == 1


def test_run_command_shows_the_progress_of_an_async_job() -> None:
    result = CliRunner().invoke(
        load_commands(), ["run", "CliAsyncCountJob", "-p", "steps=4"], catch_exceptions=False
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout) == 4
    lines = [line.strip() for line in result.stderr.splitlines() if "%" in line]
    assert lines == ["25% step 1", "50% step 2", "75% step 3", "100% step 4"]
