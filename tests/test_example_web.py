"""The seed's "server action" over HTTP: POST queues the job with ``later``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

import jobmill
from jobmill import testing
from jobmill.store import Store
from project_ideas import database
from project_ideas.web import ACTION_COUNT, ACTION_THEME, create_app

URL = "/actions/generate-projects"


@pytest.fixture
def client(sqlite_configured: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.delenv("PROJECT_IDEAS_MODEL", raising=False)
    monkeypatch.delenv("PROJECT_IDEAS_DATABASE_URL", raising=False)
    try:
        with TestClient(create_app(), base_url="http://127.0.0.1") as client:
            yield client
    finally:
        database.dispose_engines()


def test_post_queues_the_job_and_answers_with_its_id(client: TestClient) -> None:
    response = client.post(URL, json={"team_id": 2})
    assert response.status_code == 202
    body = response.json()
    assert body["success"] is True and body["message"] == "Job queued"
    queued = jobmill.get(body["job_id"])
    assert (queued.job_name, queued.status) == ("GenerateProjectIdeasJob", "pending")
    assert queued.params == {
        "team_id": 2,
        "theme": ACTION_THEME,
        "count": ACTION_COUNT,
        "user_id": None,
    }
    assert testing.drain() == 1
    done = jobmill.get(body["job_id"])
    assert done.status == "completed" and done.result["projects_created"] == ACTION_COUNT


def test_the_seeds_camel_case_body_works(client: TestClient) -> None:
    response = client.post(URL, json={"teamId": "design", "userId": 3, "count": 2})
    assert response.status_code == 202
    params = jobmill.get(response.json()["job_id"]).params
    assert (params["team_id"], params["user_id"], params["count"]) == ("design", 3, 2)


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({}, 422, "team_id: required"),
        ({"team_id": 1, "count": 0}, 422, "count: Input should be greater than or equal to 1"),
        ({"team_id": 1, "colour": "red"}, 422, "colour: Extra inputs are not permitted"),
        ({"team_id": 99}, 404, "team 99 does not exist"),
        ([1, 2], 400, "must be a JSON object"),
    ],
)
def test_bad_input_gets_a_clear_error_and_queues_nothing(
    client: TestClient, body: Any, status: int, error: str
) -> None:
    response = client.post(URL, json=body)
    assert response.status_code == status
    answer = response.json()
    assert answer["success"] is False
    assert error in answer["error"]
    assert testing.drain() == 0


def test_a_body_that_is_not_json_is_refused(client: TestClient) -> None:
    response = client.post(URL, content=b"team_id=1", headers={"content-type": "text/plain"})
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": 'the request body must be JSON, e.g. {"team_id": 1}',
    }


def test_only_post_is_allowed_and_health_answers(client: TestClient) -> None:
    assert client.get(URL).status_code == 405
    assert client.get("/healthz").json() == {"ok": True}
