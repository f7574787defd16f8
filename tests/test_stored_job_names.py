"""A job name read from the database never decides what gets imported: a row
naming an importable module (``planted_jobs.PlantedJob``) is an unknown job to
every part of jobmill that reads it — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert
from typer.testing import CliRunner

import jobmill
from dashboard_jobs import client_for
from jobmill import Worker
from jobmill.cli import load_commands
from jobmill.clock import utcnow
from jobmill.cron.scheduler import Scheduler
from jobmill.dashboard import create_app
from jobmill.ids import new_job_id
from jobmill.store import NewJobs, Store
from jobmill.store.schema import cron_jobs
from jobmill.testing import drain

# Importing this module would leave a mark beside it.
PLANTED = """
from pathlib import Path

Path(__file__).with_name("imported").write_text("planted_jobs was imported")

from jobmill import Job

class PlantedJob(Job[None, None]):
    def perform(self, params: None) -> None:
        Path(__file__).with_name("performed").write_text("PlantedJob ran")
"""
NAMES = ["planted_jobs.PlantedJob", "planted_jobs:PlantedJob", "planted_jobs"]


@pytest.fixture
def planted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An importable module (its directory on sys.path) that marks being imported."""
    directory = tmp_path / "planted"
    directory.mkdir()
    (directory / "planted_jobs.py").write_text(PLANTED)
    monkeypatch.syspath_prepend(str(directory))
    yield directory
    sys.modules.pop("planted_jobs", None)


def stored(store: Store, name: str) -> str:
    job = NewJobs(
        ids=(new_job_id(),),
        job_name=name,
        queue="default",
        priority=0,
        params=("null",),
        max_attempts=1,
        timeout=None,
    )
    [job_id] = store.enqueue([job])
    return job_id


def assert_nothing_imported(planted: Path) -> None:
    assert "planted_jobs" not in sys.modules
    assert sorted(path.name for path in planted.iterdir()) == ["planted_jobs.py"]


def test_drain_ends_such_a_job_failed_as_unknown(configured: Store, planted: Path) -> None:
    ids = [stored(configured, name) for name in NAMES]

    assert drain() == len(NAMES)

    for job_id, name in zip(ids, NAMES, strict=True):
        record = jobmill.get(job_id)
        assert record.status == "failed"
        assert f"unknown job {name!r}" in (record.error or "")
    assert_nothing_imported(planted)


def test_a_worker_leaves_such_a_job_alone(configured: Store, planted: Path) -> None:
    ids = [stored(configured, name) for name in NAMES]

    Worker(burst=True, scheduler=False, handle_signals=False).run()

    assert [jobmill.get(job_id).status for job_id in ids] == ["pending"] * len(NAMES)
    assert_nothing_imported(planted)


def test_a_cron_entry_naming_it_fires_nothing(configured: Store, planted: Path) -> None:
    now = utcnow()
    with configured.engine.begin() as conn:
        for name in NAMES:
            due = now - timedelta(hours=1)
            row = {"job_name": name, "cron_expression": "* * * * *", "next_run_at": due}
            conn.execute(insert(cron_jobs).values(row))
    scheduler = Scheduler(configured, poll_interval=0.05)

    assert scheduler.tick(now) == []
    assert scheduler.tick(now + scheduler.grace + timedelta(hours=1)) == []

    entries = configured.list_cron_jobs()
    assert [entry.enabled for entry in entries] == [False] * len(NAMES)
    assert all("unknown job" in (entry.last_error or "") for entry in entries)
    assert configured.list_jobs() == []
    assert_nothing_imported(planted)


def test_the_cli_and_the_dashboard_show_it_as_stored(configured: Store, planted: Path) -> None:
    job_id = stored(configured, NAMES[0])
    cli = load_commands()

    shown = CliRunner().invoke(cli, ["status", job_id, "--json"], catch_exceptions=False)
    listed = CliRunner().invoke(cli, ["list", "--json"], catch_exceptions=False)
    page = client_for(create_app()).get(f"/jobs/{job_id}")

    assert json.loads(shown.stdout)["job_name"] == NAMES[0]
    assert [row["job_name"] for row in json.loads(listed.stdout)] == [NAMES[0]]
    assert page.status_code == 200 and NAMES[0] in page.text
    assert_nothing_imported(planted)
