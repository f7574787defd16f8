"""The Cron page: entries with their next runs; enable, disable and run now change
the database, and a run lands in the job's history with who asked."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

import jobmill
from dashboard_jobs import DashboardEchoJob, client_for, csrf_token
from jobmill import cron
from jobmill.dashboard import create_app
from jobmill.store import Store

SOURCE = "dashboard:anonymous@127.0.0.1"


@pytest.fixture
def client(configured: Store) -> TestClient:
    return client_for(create_app())


def add_entry(name: str = "dash-nightly", expression: str = "30 2 * * *") -> cron.CronJob:
    return cron.add_cron_job(
        name=name, job=DashboardEchoJob, expression=expression, params={"text": "<i>cron</i>"}
    )


def post(client: TestClient, path: str) -> object:
    return client.post(path, data={"csrf_token": csrf_token(client, "/cron"), "next": "/cron"})


def test_cron_page_lists_entries_with_their_next_runs(client: TestClient) -> None:
    entry = add_entry()
    page = client.get("/cron").text
    assert "dash-nightly" in page and "<code>30 2 * * *</code>" in page
    assert "DashboardEchoJob" in page and "&lt;i&gt;cron&lt;/i&gt;" in page
    assert page.count(" 02:30:00") == 5  # five next runs, UTC
    assert 'class="status status-completed">enabled' in page
    assert f'formaction="/cron/{entry.id}/disable"' in page
    assert f'formaction="/cron/{entry.id}/run"' in page


def test_cron_page_shows_raw_sql_rows_and_bad_expressions(
    client: TestClient, configured: Store
) -> None:
    with configured.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO cron_jobs (job_name, cron_expression, params, enabled) "
                "VALUES ('DashboardEchoJob', '0 0 * * *', '{\"text\": \"raw\"}', true)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO cron_jobs (job_name, cron_expression, params, enabled) "
                "VALUES ('DashboardEchoJob', '61 * * * *', '{}', true)"
            )
        )
    page = client.get("/cron").text
    assert "<code>0 0 * * *</code>" in page and page.count(" 00:00:00") == 5
    assert "<code>61 * * * *</code>" in page
    assert "is invalid" in page or "not acceptable" in page


def test_disable_and_enable_an_entry(client: TestClient) -> None:
    entry = add_entry()
    page = post(client, f"/cron/{entry.id}/disable")
    assert "Cron entry disabled." in page.text
    assert "none while disabled" in page.text
    disabled = cron.get_cron_job(entry.id)
    assert not disabled.enabled and disabled.next_run_at is None

    page = post(client, f"/cron/{entry.id}/enable")
    assert "Cron entry enabled" in page.text
    enabled = cron.get_cron_job(entry.id)
    assert enabled.enabled and enabled.next_run_at is not None
    assert enabled.next_run_at.strftime("%H:%M") == "02:30"


def test_run_now_enqueues_a_job_and_records_who_asked(client: TestClient) -> None:
    entry = add_entry()
    page = post(client, f"/cron/{entry.id}/run")
    assert "Enqueued this job from its cron entry" in page.text
    job_id = str(page.url).split("/jobs/", 1)[1].split("?", 1)[0]
    record = jobmill.get(job_id)
    assert record.cron_job_id == entry.id and record.params == {"text": "<i>cron</i>", "count": 1}
    runs = [event for event in jobmill.history(job_id) if event.kind == "cron_run"]
    assert [event.source for event in runs] == [SOURCE]
    assert cron.get_cron_job(entry.id).last_job_id == job_id
    cron_page = client.get("/cron").text
    assert f'href="/jobs/{job_id}"' in cron_page


def test_unknown_cron_entry_is_not_found(client: TestClient) -> None:
    missing = post(client, "/cron/9999/disable")
    assert missing.status_code == 404
    assert "no cron entry named or numbered 9999" in missing.text
    assert '<a href="/cron">Back to cron</a>' in missing.text
    assert '<a href="/jobs">Back to the jobs</a>' in client.get("/jobs/ffffffff").text


def test_cron_actions_need_the_csrf_token(client: TestClient) -> None:
    entry = add_entry()
    client.get("/cron")
    assert client.post(f"/cron/{entry.id}/disable").status_code == 403
    assert cron.get_cron_job(entry.id).enabled


def test_cron_page_renders_rows_the_scheduler_cannot_read(sqlite_configured: Store) -> None:
    # Params that are not JSON can only be stored on SQLite (PostgreSQL's JSONB refuses).
    with sqlite_configured.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO cron_jobs (job_name, cron_expression, timezone, params, enabled) "
                "VALUES ('DashboardEchoJob', '0 0 * * *', 'America', '{count: 5}', true)"
            )
        )
    page = client_for(create_app()).get("/cron")
    assert page.status_code == 200
    assert "{count: 5}" in page.text
    assert "timezone &#39;America&#39; is not an IANA time zone" in page.text
