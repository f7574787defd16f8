"""Odd input never gets a 500 or a traceback: characters no id can hold, NUL bytes
(PostgreSQL refuses them as query values), numbers too large for a column or a date,
params nested too deep. The dashboard answers 400/404 (or an empty listing) and keeps
its security headers; the CLI exits 2 (1 for not found) with one line saying why."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient
from typer.testing import CliRunner, Result

import jobmill.cron
from dashboard_jobs import DashboardEchoJob, DashboardFailJob, client_for, csrf_token
from jobmill.cli import load_commands
from jobmill.dashboard import create_app
from jobmill.store import JobFilter, Store

pytestmark = pytest.mark.usefixtures("configured")

MAX_CHARACTER = "%F4%8F%BF%BF"  # U+10FFFF, which has no successor for a prefix range


def cli(*args: str) -> Result:
    return CliRunner().invoke(load_commands(), list(args), catch_exceptions=False)


@pytest.fixture
def client(configured: Store) -> TestClient:
    DashboardEchoJob.later(text="present")
    return client_for(create_app(), raise_server_exceptions=False)


@pytest.mark.parametrize(
    "path",
    [
        f"/jobs/{MAX_CHARACTER}",
        "/jobs/%00",
        "/jobs/01%00",
        "/jobs/%00/live",
        "/jobs/%00/progress",
        "/cron/99999999999999999999/run",
    ],
)
def test_ids_no_job_can_have_are_not_found(client: TestClient, path: str) -> None:
    response = client.get(path) if "/cron/" not in path else _post(client, path)
    assert response.status_code in (404, 286), response.text  # 286: htmx stops polling
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "query",
    [f"q={MAX_CHARACTER}", "q=%00", "q=zz%00", "name=%00", "queue=a%00b", "name=%ED%A0%80"],
)
def test_filters_no_job_can_match_list_nothing(client: TestClient, query: str) -> None:
    page = client.get(f"/jobs?{query}")
    assert page.status_code == 200
    assert "No jobs match these filters." in page.text
    assert client.get(f"/failed?{query}").status_code == 200


def test_actions_on_ids_no_job_can_have_are_not_found(client: TestClient) -> None:
    for action in ("retry", "cancel", "discard"):
        response = _post(client, f"/jobs/%00/{action}")
        assert response.status_code == 404, action
    for action in ("enable", "disable", "run"):
        assert _post(client, f"/cron/99999999999999999999/{action}").status_code == 404


def test_bulk_retry_skips_ids_no_job_can_have(client: TestClient) -> None:
    token = csrf_token(client, "/failed")
    response = client.post(
        "/failed/retry",
        data={"csrf_token": token, "ids": ["\x00", "\U0010ffff"], "next": "/failed"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "skipped=2" in response.headers["location"]
    retried_all = client.post(
        "/failed/retry-all", data={"csrf_token": token, "name": "a\x00b"}, follow_redirects=False
    )
    assert retried_all.status_code == 303


def test_an_unexpected_error_is_a_500_that_keeps_the_security_headers(
    client: TestClient, configured: Store
) -> None:
    with pytest.raises(Exception):  # noqa: B017
        DashboardFailJob.now(text="boom")
    with configured.engine.begin() as conn:
        conn.execute(text("DROP TABLE job_events"))
    [failed] = configured.list_jobs(JobFilter(job_name="DashboardFailJob"))
    response = client.get(f"/jobs/{failed.id}")
    assert response.status_code == 500
    assert "Traceback" not in response.text and "job_events" not in response.text
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def _post(client: TestClient, path: str) -> object:
    token = csrf_token(client)
    return client.post(path, data={"csrf_token": token}, follow_redirects=False)


# The command line -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["status", "\U0010ffff"], 1, "no job with id or prefix '\\U0010ffff'"),
        (["retry", "\U0010ffff"], 1, "no job with id or prefix"),
        (["cancel", "\U0010ffff"], 1, "no job with id or prefix"),
        (["discard", "\U0010ffff"], 1, "no job with id or prefix"),
        (["cron", "enable", "99999999999999999999"], 1, "no cron entry named or numbered"),
        (["prune", "--older-than", "99999999999d"], 2, "duration '99999999999d' is too long"),
        (["prune", "--older-than", "999999999d"], 2, "reaches back before the year 1"),
        (["list", "--limit", "99999999999999999999"], 2, "less than or equal to 2147483647"),
        (["list", "--offset", "99999999999999999999"], 2, "less than or equal to 2147483647"),
        (["cron", "next", "@daily", "-n", "99999999999"], 2, "less than or equal to 1000"),
        (
            ["run", "DashboardEchoJob", "--later", "--param", "text=x", "--delay", "3000000d"],
            2,
            "delay must end before the year 10000",
        ),
        (
            ["run", "DashboardEchoJob", "--later", "--param", "text=x", "--priority", "2147483648"],
            2,
            "priority must be from -2147483648 to 2147483647, got 2147483648",
        ),
        (
            ["run", "DashboardEchoJob", "--later", "--param", "count=" + "9" * 5000],
            2,
            "an integer of 5000 digits; at most 4300 are allowed",
        ),
        (
            ["run", "DashboardEchoJob", "--later", "--param", "text=" + "[" * 100_000],
            2,
            "invalid JSON: nested too deeply",
        ),
        (
            ["run", "DashboardEchoJob", "--later", "--param", "text=[" + "9" * 5000 + "]"],
            2,
            "invalid JSON: an integer of more than 4300 digits",
        ),
    ],
)
def test_cli_odd_input_exits_with_one_line_saying_why(
    args: list[str], code: int, message: str
) -> None:
    result = cli("--import", "dashboard_jobs", *args)
    assert result.exit_code == code, result.output
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.output
    if code == 1 or args[0] in ("prune", "run"):
        [line] = result.stderr.splitlines()
        assert len(line) < 300


def test_cron_next_runs_stop_at_the_end_of_the_calendar() -> None:
    runs = jobmill.cron.next_runs("@yearly", count=20, now=datetime(9990, 6, 1, tzinfo=UTC))
    assert [run.year for run in runs] == list(range(9991, 10000))
