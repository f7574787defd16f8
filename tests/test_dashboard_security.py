"""Safe by default: loopback only without auth, Basic auth when configured, a CSRF
token on every POST, security headers, and a mounted app that keeps its prefix."""

from __future__ import annotations

import base64
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

import jobmill
from dashboard_jobs import DashboardFailJob, client_for, csrf_token
from jobmill.dashboard import create_app
from jobmill.dashboard.auth import Credentials, check_bind, is_loopback
from jobmill.errors import ConfigurationError
from jobmill.store import Store


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def failed_job() -> str:
    with pytest.raises(jobmill.JobFailed) as failure:
        DashboardFailJob.now(text="csrf")
    return failure.value.metadata.id


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.3.4.5", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.10", False),
        ("example.org", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_check_bind_refuses_a_public_address_without_auth_naming_the_setting() -> None:
    with pytest.raises(ConfigurationError, match="JOBMILL_DASHBOARD_AUTH=user:password"):
        check_bind("0.0.0.0", None)
    check_bind("0.0.0.0", "admin:secret")
    check_bind("127.0.0.1", None)


@pytest.mark.parametrize("value", ["admin", ":secret", "admin:", ""])
def test_credentials_must_be_user_colon_password_and_are_not_echoed(value: str) -> None:
    with pytest.raises(ConfigurationError, match="dashboard_auth") as error:
        Credentials.parse(value)
    assert "secret" not in str(error.value)


def test_an_invalid_dashboard_auth_stops_create_app(sqlite_configured: Store) -> None:
    with pytest.raises(ConfigurationError, match="JOBMILL_DASHBOARD_AUTH"):
        create_app(auth="no-colon")


def test_without_auth_only_loopback_clients_are_answered(sqlite_configured: Store) -> None:
    app = create_app()
    remote = TestClient(app, client=("203.0.113.9", 40000))
    refused = remote.get("/jobs")
    assert refused.status_code == 403
    assert "JOBMILL_DASHBOARD_AUTH" in refused.text
    assert client_for(app).get("/jobs").status_code == 200
    assert (
        TestClient(create_app(external_auth=True), client=("203.0.113.9", 1))
        .get("/jobs")
        .status_code
        == 200
    )


REBINDING = {"Host": "evil.example:8000", "Origin": "http://evil.example:8000"}


def test_without_auth_a_request_for_another_host_name_is_refused_and_does_nothing(
    sqlite_configured: Store,
) -> None:
    # DNS rebinding: evil.example now resolves to 127.0.0.1, so the browser sends
    # its own name as Host and Origin, and the page could read and post.
    job_id = failed_job()
    client = client_for(create_app())
    token = csrf_token(client)
    for path in ("/", "/jobs", f"/jobs/{job_id}", "/healthz", "/static/dashboard.css"):
        refused = client.get(path, headers=REBINDING)
        assert refused.status_code == 400, path
        assert "Host 'evil.example:8000' is not this dashboard's address" in refused.text
        assert job_id not in refused.text
    posted = client.post(f"/jobs/{job_id}/retry", data={"csrf_token": token}, headers=REBINDING)
    assert posted.status_code == 400
    assert posted.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in posted.headers["content-security-policy"]
    assert jobmill.get(job_id).status == "failed"


@pytest.mark.parametrize(
    "host", ["localhost", "localhost:8000", "127.0.0.1:1234", "[::1]", "[::1]:80", "LOCALHOST"]
)
def test_without_auth_loopback_host_names_on_any_port_are_answered(
    sqlite_configured: Store, host: str
) -> None:
    assert client_for(create_app()).get("/jobs", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("host", ["127.0.0.2", "localhost.", "127.1", "0.0.0.0", "[::2]", ""])
def test_without_auth_other_addresses_are_refused(sqlite_configured: Store, host: str) -> None:
    assert client_for(create_app()).get("/jobs", headers={"Host": host}).status_code == 400


def test_the_address_the_server_listens_on_is_answered(sqlite_configured: Store) -> None:
    client = client_for(create_app(), base_url="http://127.0.0.2:9000")
    assert client.get("/jobs").status_code == 200  # Host: 127.0.0.2:9000
    assert client.get("/jobs", headers={"Host": "127.0.0.3:9000"}).status_code == 400


def test_allowed_hosts_setting_adds_the_names_a_proxy_forwards(sqlite_url: str) -> None:
    jobmill.configure(database_url=sqlite_url, dashboard_allowed_hosts="Jobs.Example.com,ops")
    client = client_for(create_app())
    assert client.get("/jobs", headers={"Host": "jobs.example.com"}).status_code == 200
    assert client.get("/jobs", headers={"Host": "ops:8443"}).status_code == 200
    assert client.get("/jobs", headers={"Host": "example.com"}).status_code == 400


def test_allowed_hosts_must_be_host_names(sqlite_url: str) -> None:
    with pytest.raises(ConfigurationError, match="JOBMILL_DASHBOARD_ALLOWED_HOSTS"):
        jobmill.configure(database_url=sqlite_url, dashboard_allowed_hosts="https://x.org/")


def test_with_auth_or_external_auth_any_host_name_is_answered(sqlite_configured: Store) -> None:
    with_auth = client_for(create_app(auth="admin:s3cret"))
    assert with_auth.get("/jobs", headers={**basic("admin", "s3cret"), **REBINDING}).is_success
    external = client_for(create_app(external_auth=True))
    assert external.get("/jobs", headers=REBINDING).status_code == 200


def test_basic_auth_is_enforced_when_configured(sqlite_configured: Store) -> None:
    remote = TestClient(create_app(auth="admin:s3cret"), client=("203.0.113.9", 40000))
    missing = remote.get("/jobs")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert remote.get("/jobs", headers=basic("admin", "wrong")).status_code == 401
    assert remote.get("/jobs", headers=basic("root", "s3cret")).status_code == 401
    assert remote.get("/jobs", headers={"Authorization": "Basic !!!"}).status_code == 401
    page = remote.get("/jobs", headers=basic("admin", "s3cret"))
    assert page.status_code == 200
    assert '<span class="user" title="Signed in">admin</span>' in page.text
    assert remote.get("/healthz").status_code == 200  # probes need no password


def test_auth_comes_from_the_settings(sqlite_url: str) -> None:
    jobmill.configure(database_url=sqlite_url, dashboard_auth="ops:pw")
    client = TestClient(create_app(), client=("203.0.113.9", 1))
    assert client.get("/jobs").status_code == 401
    assert client.get("/jobs", headers=basic("ops", "pw")).status_code == 200


def test_post_without_a_valid_csrf_token_is_refused(sqlite_configured: Store) -> None:
    job_id = failed_job()
    client = client_for(create_app())
    url = f"/jobs/{job_id}/retry"
    assert client.post(url).status_code == 403  # no cookie, no token
    token = csrf_token(client)
    assert client.post(url, data={"csrf_token": "0" * 64}).status_code == 403
    other = client_for(create_app())
    assert other.post(url, data={"csrf_token": token}).status_code == 403  # not its cookie
    foreign = client.post(
        url, data={"csrf_token": token}, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403 and "another origin" in foreign.text
    assert jobmill.get(job_id).status == "failed"

    accepted = client.post(url, data={"csrf_token": token}, follow_redirects=False)
    assert accepted.status_code == 303
    assert jobmill.get(job_id).status == "pending"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "null"},  # a sandboxed frame, a data: URL, a redirect across sites
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # another subdomain is another origin
    ],
)
def test_a_post_the_browser_marks_as_cross_origin_is_refused_whatever_its_token(
    sqlite_configured: Store, headers: dict[str, str]
) -> None:
    job_id = failed_job()
    client = client_for(create_app())
    token = csrf_token(client)

    refused = client.post(f"/jobs/{job_id}/retry", data={"csrf_token": token}, headers=headers)

    assert refused.status_code == 403 and "another origin" in refused.text
    assert jobmill.get(job_id).status == "failed"
    same = {"Sec-Fetch-Site": "same-origin"}
    accepted = client.post(
        f"/jobs/{job_id}/retry", data={"csrf_token": token}, headers=same, follow_redirects=False
    )
    assert accepted.status_code == 303
    assert jobmill.get(job_id).status == "pending"


def test_csrf_token_is_accepted_from_the_htmx_header(sqlite_configured: Store) -> None:
    job_id = failed_job()
    client = client_for(create_app())
    token = csrf_token(client)
    response = client.post(
        f"/jobs/{job_id}/retry",
        headers={"X-CSRF-Token": token, "Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert jobmill.get(job_id).status == "pending"


def test_a_token_signed_with_another_secret_is_refused(sqlite_configured: Store) -> None:
    job_id = failed_job()
    first = client_for(create_app(secret="one"))
    token = csrf_token(first)
    second = client_for(create_app(secret="two"), cookies=first.cookies)
    refused = second.post(f"/jobs/{job_id}/retry", data={"csrf_token": token})
    assert refused.status_code == 403


def test_csrf_cookie_is_httponly_and_same_site_strict(sqlite_configured: Store) -> None:
    response = client_for(create_app()).get("/jobs")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("jobmill_csrf=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie


def test_responses_carry_security_headers(sqlite_configured: Store) -> None:
    response = client_for(create_app()).get("/jobs")
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"


def test_static_assets_ship_in_the_package(sqlite_configured: Store) -> None:
    client = client_for(create_app())
    htmx = client.get("/static/htmx.min.js")
    assert htmx.status_code == 200 and "htmx" in htmx.text[:200]
    assert client.get("/static/dashboard.css").status_code == 200
    page = client.get("/jobs").text
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing from a CDN


def test_a_mounted_dashboard_keeps_its_prefix(sqlite_configured: Store) -> None:
    job_id = failed_job()
    host = Starlette(routes=[Mount("/admin/jobs", app=create_app())])
    client = client_for(host)
    page = client.get("/admin/jobs/failed")
    assert page.status_code == 200
    assert 'href="/admin/jobs/static/dashboard.css' in page.text
    assert f'formaction="/admin/jobs/jobs/{job_id}/retry"' in page.text
    assert "Path=/admin/jobs" in page.headers["set-cookie"]
    token = csrf_token(client, "/admin/jobs/failed")
    done = client.post(
        f"/admin/jobs/jobs/{job_id}/retry",
        data={"csrf_token": token, "next": "/failed"},
        follow_redirects=False,
    )
    assert done.headers["location"] == "/admin/jobs/failed?retried=1"
    assert client.get("/admin/jobs/healthz").text == "ok"


def test_redirects_after_actions_stay_on_the_dashboard(sqlite_configured: Store) -> None:
    job_id = failed_job()
    client = client_for(create_app())
    token = csrf_token(client)
    done = client.post(
        f"/jobs/{job_id}/retry",
        data={"csrf_token": token, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert done.headers["location"] == f"/jobs/{job_id}?retried=1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_cli(args: list[str], cwd: Path, **env: str) -> subprocess.Popen[str]:
    environment = {**os.environ, **env, "NO_COLOR": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "jobmill", *args],
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_cli_refuses_a_public_host_without_auth(tmp_path: Path) -> None:
    process = run_cli(
        ["dashboard", "--host", "0.0.0.0", "--port", str(free_port())],
        tmp_path,
        JOBMILL_DATABASE_URL=f"sqlite:///{tmp_path / 'jobs.db'}",
    )
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 2, output
    assert "refusing to serve the dashboard on '0.0.0.0'" in output
    assert "JOBMILL_DASHBOARD_AUTH" in output


def test_cli_serves_the_dashboard_on_loopback(tmp_path: Path) -> None:
    port = free_port()
    process = run_cli(
        ["dashboard", "--port", str(port)],
        tmp_path,
        JOBMILL_DATABASE_URL=f"sqlite:///{tmp_path / 'jobs.db'}",
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()[0]
                assert time.monotonic() < deadline, "the dashboard did not start"
                time.sleep(0.1)
        assert response.text == "ok"
        assert httpx.get(f"http://127.0.0.1:{port}/jobs", timeout=5).status_code == 200
        rebound = httpx.get(f"http://127.0.0.1:{port}/jobs", headers=REBINDING, timeout=5)
        assert rebound.status_code == 400
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_cli_with_malformed_auth_exits_2_before_announcing_the_server(tmp_path: Path) -> None:
    process = run_cli(
        ["dashboard", "--host", "0.0.0.0", "--port", str(free_port())],
        tmp_path,
        JOBMILL_DATABASE_URL=f"sqlite:///{tmp_path / 'jobs.db'}",
        JOBMILL_DASHBOARD_AUTH="no-colon",
    )
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 2, output
    assert "must be 'user:password'" in output
    assert "jobmill dashboard on" not in output


def test_cli_on_a_port_in_use_exits_1_naming_it(sqlite_configured: Store) -> None:
    from typer.testing import CliRunner

    from jobmill.cli import load_commands

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(load_commands(), ["dashboard", "--port", str(port)])
    assert result.exit_code == 1, result.output
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "jobmill dashboard on" not in result.stderr
