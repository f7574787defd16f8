"""Rows written by other software (raw SQL, a newer jobmill) with a status jobmill does
not know or JSON that does not parse: ``list``, ``status``, ``stats`` and the
dashboard show them as they are instead of failing on them."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import insert, text, update
from typer.testing import CliRunner, Result

from dashboard_jobs import DashboardEchoJob, client_for
from jobmill.cli import load_commands
from jobmill.clock import utcnow
from jobmill.dashboard import create_app
from jobmill.store import Store
from jobmill.store.schema import job_events, jobs


def cli(*args: str) -> Result:
    return CliRunner().invoke(load_commands(), list(args), catch_exceptions=False)


def job_with_status(store: Store, status: str) -> str:
    job_id = DashboardEchoJob.later(text="odd")
    with store.engine.begin() as conn:
        conn.execute(update(jobs).where(jobs.c.id == job_id).values(status=status))
    return job_id


def test_an_unknown_status_is_listed_and_shown_as_stored(configured: Store) -> None:
    job_id = job_with_status(configured, "paused")
    DashboardEchoJob.later(text="fine")

    listing = cli("list")
    assert listing.exit_code == 0, listing.output
    assert "paused" in listing.stdout and "pending" in listing.stdout
    as_json = cli("list", "--json")
    assert [row["status"] for row in json.loads(as_json.stdout)] == ["pending", "paused"]
    status = cli("status", job_id)
    assert status.exit_code == 0, status.output
    assert "paused" in status.stdout
    stats = cli("stats")
    assert stats.exit_code == 0, stats.output
    assert "paused" in stats.stdout

    client = client_for(create_app())
    for path in ("/", "/jobs", f"/jobs/{job_id}", f"/jobs/{job_id}/live"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "paused" in page.text, path


def test_an_event_of_a_kind_jobmill_does_not_know_is_shown_as_stored(configured: Store) -> None:
    job_id = DashboardEchoJob.later(text="odd")
    with configured.engine.begin() as conn:
        conn.execute(
            insert(job_events).values(
                job_id=job_id, kind="paused_by_operator", at=utcnow(), source="newer jobmill"
            )
        )
    status = cli("status", job_id)
    assert status.exit_code == 0, status.output
    assert "paused_by_operator" in status.stdout
    as_json = json.loads(cli("status", job_id, "--json").stdout)
    assert "paused_by_operator" in [event["kind"] for event in as_json["history"]]
    page = client_for(create_app()).get(f"/jobs/{job_id}")
    assert page.status_code == 200 and "paused_by_operator" in page.text


def test_cancelling_a_job_in_an_unknown_status_is_refused_with_the_reason(
    configured: Store,
) -> None:
    job_id = job_with_status(configured, "paused")
    result = cli("cancel", job_id)
    assert result.exit_code == 1
    assert f"job {job_id} is paused; only pending or running jobs can be cancelled" in (
        " ".join(result.stderr.split())
    )


def test_params_and_results_that_are_not_json_are_shown_as_stored(
    sqlite_configured: Store,
) -> None:
    # Only SQLite keeps JSON columns as text; PostgreSQL's JSONB refuses broken JSON.
    job_id = DashboardEchoJob.later(text="odd")
    DashboardEchoJob.later(text="fine")
    with sqlite_configured.engine.begin() as conn:
        conn.execute(
            text("UPDATE jobs SET params = '{count: 5}', result = '[1, 2' WHERE id = :id"),
            {"id": job_id},
        )

    listing = cli("list")
    assert listing.exit_code == 0, listing.output
    assert len(listing.stdout.splitlines()) == 3
    as_json = json.loads(cli("list", "--json").stdout)
    assert [row["params"] for row in as_json] == [{"text": "fine", "count": 1}, "{count: 5}"]
    status = cli("status", job_id)
    assert status.exit_code == 0, status.output
    assert "{count: 5}\n(stored text, not valid JSON: Expecting property name" in status.stdout
    assert "[1, 2\n(stored text, not valid JSON:" in status.stdout

    client = client_for(create_app())
    assert client.get("/jobs").status_code == 200
    page = client.get(f"/jobs/{job_id}")
    assert page.status_code == 200
    assert "{count: 5}\n(stored text, not valid JSON" in page.text


@pytest.mark.parametrize("column", ["params", "result"])
def test_get_reads_a_row_whose_json_does_not_parse(sqlite_configured: Store, column: str) -> None:
    job_id = DashboardEchoJob.later(text="odd")
    with sqlite_configured.engine.begin() as conn:
        conn.execute(text(f"UPDATE jobs SET {column} = 'nope' WHERE id = :id"), {"id": job_id})
    record = sqlite_configured.get_job(job_id)
    assert getattr(record, column) == "nope"
