"""The Django recipe (examples/django_app), on SQLite and PostgreSQL, run as a
user runs it: ``manage.py migrate``, ``jobmill db upgrade``, the site served by
``manage.py runserver``, and ``jobmill worker --burst`` importing Django's jobs.

A subscription queues its confirmation email with ``transaction.on_commit``: a
rolled-back signup queues nothing. Django's settings are process-wide, so the
site runs in processes of its own, one set per database.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow  # real processes: migrate, runserver, a worker

SITE = Path(__file__).resolve().parent.parent / "examples" / "django_app"


@pytest.fixture
def site_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBMILL_", "DJANGO_"))}
    return {**env, "DATABASE_URL": database_url, "PYTHONPATH": str(SITE), "NO_COLOR": "1"}


def jobmill_env(site_env: dict[str, str]) -> dict[str, str]:
    """For jobmill commands that do not import the site: the same database."""
    return {**site_env, "JOBMILL_DATABASE_URL": site_env["DATABASE_URL"]}


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` in the test's own directory (nothing lands in the example)."""
    done = subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture
def site(site_env: dict[str, str]) -> Iterator[httpx.Client]:
    """The migrated site served on a free loopback port."""
    run(site_env, str(SITE / "manage.py"), "migrate", "--no-input")
    run(jobmill_env(site_env), "-m", "jobmill", "db", "upgrade")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, str(SITE / "manage.py"), "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=site_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            wait_until_up(client, server)
            yield client
    finally:
        server.terminate()
        server.communicate(timeout=30)


def wait_until_up(client: httpx.Client, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            client.get("/subscriptions/0/")
            return
        except httpx.TransportError:
            if server.poll() is not None or time.monotonic() > deadline:
                output = server.communicate(timeout=5)[0].decode(errors="replace")
                pytest.fail(f"runserver did not start (exit {server.returncode}):\n{output}")
            time.sleep(0.1)


def test_a_subscription_queues_its_confirmation_after_commit_and_a_worker_sends_it(
    site: httpx.Client, site_env: dict[str, str]
) -> None:
    created = site.post("/subscriptions/", json={"email": "ada@example.com"})
    assert created.status_code == 201, created.text
    subscription_id = created.json()["id"]
    assert site.get(f"/subscriptions/{subscription_id}/").json() == {
        "email": "ada@example.com",
        "confirmed": False,
        "confirmation_job": "pending",
    }
    # A signup that rolls back (a duplicate address) or never starts queues nothing.
    again = site.post("/subscriptions/", json={"email": "ada@example.com"})
    assert again.status_code == 409 and "already subscribed" in again.text
    assert site.post("/subscriptions/", json={"email": "nope"}).status_code == 422
    listed = json.loads(run(jobmill_env(site_env), "-m", "jobmill", "list", "--json").stdout)
    assert [job["id"] for job in listed] == [created.json()["confirmation_job_id"]]

    # The worker is configured by the site's settings (apps.ready), not by JOBMILL_*.
    run(site_env, "-m", "jobmill", "worker", "--burst", "--import", "djangosite.jobmill_jobs")
    assert site.get(f"/subscriptions/{subscription_id}/").json() == {
        "email": "ada@example.com",
        "confirmed": True,
        "confirmation_job": "completed",
    }
