"""The Flask recipe (examples/flask_app), on SQLite and PostgreSQL: a signup and
its welcome email commit together, the application's own ``flask worker``
command runs the job, and ``jobmill.testing.inline()`` runs it in a test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

import jobmill
from flask_app import models
from flask_app.app import create_app
from flask_app.jobs import SendWelcomeEmailJob
from jobmill import runtime
from jobmill.store import JobFilter, Store
from jobmill.testing import inline


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    # No jobmill tables yet: the app creates them before its first request.
    jobmill.configure(database_url=database_url, auto_upgrade=True, progress_interval=0)
    try:
        yield create_app()
    finally:
        models.dispose_engines()
        runtime.reset()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def welcome_jobs(store: Store) -> list[jobmill.JobMetadata]:
    return store.list_jobs(JobFilter(job_name=SendWelcomeEmailJob.job_name))


def test_a_signup_queues_its_welcome_email_which_flask_worker_sends(
    app: Flask, client: FlaskClient
) -> None:
    signed_up = client.post("/signups", json={"email": "ada@example.com"})
    assert signed_up.status_code == 201, signed_up.text
    subscriber_id = signed_up.json["id"]
    assert client.get(f"/signups/{subscriber_id}").json == {
        "email": "ada@example.com",
        "welcomed": False,
        "welcome_job": "pending",
    }

    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert client.get(f"/signups/{subscriber_id}").json == {
        "email": "ada@example.com",
        "welcomed": True,
        "welcome_job": "completed",
    }
    assert jobmill.get(signed_up.json["welcome_job_id"]).result == "ada@example.com"


def test_a_refused_signup_queues_nothing(client: FlaskClient) -> None:
    assert client.post("/signups", data={"email": "ada@example.com"}).status_code == 201
    again = client.post("/signups", data={"email": "ada@example.com"})
    assert again.status_code == 409 and "already subscribed" in again.json["error"]
    bad = client.post("/signups", json={"email": "not an address"})
    assert bad.status_code == 422 and bad.json["error"].startswith("email: expected an address")
    assert len(welcome_jobs(runtime.get_store())) == 1
    assert client.get("/signups/999").status_code == 404


# --8<-- [start:inline]
def test_inline_sends_the_email_before_the_view_returns(client: FlaskClient) -> None:
    # A job enqueued on the view's own connection exists only once it commits,
    # so inline() leaves it for drain(); jobs enqueued without connection= run at once.
    with inline():
        signed_up = client.post("/signups", json={"email": "bob@example.com"})
    subscriber_id = signed_up.json["id"]
    assert client.get(f"/signups/{subscriber_id}").json["welcome_job"] == "pending"
    assert jobmill.testing.drain() == 1
    assert client.get(f"/signups/{subscriber_id}").json["welcomed"] is True


# --8<-- [end:inline]
