"""GenerateProjectIdeasJob end to end on SQLite and PostgreSQL: defaults, progress,
idempotency, tag de-duplication, clear errors, retried attempts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

import jobmill
from example_support import answering, idea
from jobmill import testing
from jobmill.store import Store
from project_ideas import database, repository
from project_ideas.agent import ideas_agent
from project_ideas.jobs import GenerateProjectIdeasJob, GenerateProjectIdeasResult
from project_ideas.models import Project, Tag


@pytest.fixture
def app(configured: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The application on jobmill's database: migrated, seeded, offline model."""
    monkeypatch.delenv("PROJECT_IDEAS_MODEL", raising=False)
    monkeypatch.delenv("PROJECT_IDEAS_DATABASE_URL", raising=False)
    try:
        yield database.get_engine()
    finally:
        database.dispose_engines()


def count(engine: Engine, model: Any, *where: Any) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_defaults_are_the_admin_user_and_the_first_team(app: Engine) -> None:
    result = GenerateProjectIdeasJob.now(count=3)
    data = result.data
    assert isinstance(data, GenerateProjectIdeasResult)
    assert (data.team_id, data.user_id) == (1, 1)
    assert data.projects_created == 3 == len(data.project_ids)
    assert data.offline and data.model == "offline-generator"
    with database.session() as db:
        rows = db.scalars(select(Project).where(Project.id.in_(data.project_ids))).all()
        assert {(p.team_id, p.created_by) for p in rows} == {(1, 1)}
        assert all(p.tags for p in rows)
    assert result.metadata.result["projects_created"] == 3


def test_progress_is_reported_while_asking_and_for_each_saved_idea(app: Engine) -> None:
    result = GenerateProjectIdeasJob.now(count=2, theme="Developer tools")
    progress = [e for e in jobmill.history(result.metadata.id) if e.kind == "progress"]
    messages = [e.message or "" for e in progress]
    assert messages[0] == "Checking the team and the user"
    assert messages[1].startswith("Asking the offline generator for 2 ideas for Engineering")
    assert [m.split(":")[0] for m in messages[-2:]] == ["Saved 1/2", "Saved 2/2"]
    percents = [e.progress for e in progress]
    assert percents == sorted(percents) and percents[-1] is not None and percents[-1] < 100
    assert jobmill.get(result.metadata.id).progress == 100


def test_rerun_with_the_same_ideas_creates_nothing_twice(app: Engine) -> None:
    ideas = [idea("Churn Radar", "ai", "analytics"), idea("Ticket Triage", "ai", "support")]
    model, _ = answering(ideas)
    with ideas_agent.override(model=model):
        first = GenerateProjectIdeasJob.now(team_id=2, count=2).data
        again = GenerateProjectIdeasJob.now(teamId=2, count=2).data
    assert first is not None and again is not None
    assert (first.projects_created, first.tags_created) == (2, 3)
    assert (again.projects_created, again.tags_created, again.project_ids) == (0, 0, [])
    assert again.skipped_titles == ["Churn Radar", "Ticket Triage"]
    assert count(app, Project, Project.team_id == 2) == 2


def test_titles_are_unique_per_team_not_globally(app: Engine) -> None:
    model, _ = answering([idea("Shared Name", "ai")])
    with ideas_agent.override(model=model):
        engineering = GenerateProjectIdeasJob.now(team_id="engineering", count=1).data
        design = GenerateProjectIdeasJob.now(team_id="Design", count=1).data
    assert engineering is not None and design is not None
    assert engineering.projects_created == design.projects_created == 1
    assert design.tags_created == 0  # the tag exists already


def test_only_tags_that_do_not_exist_yet_are_created(app: Engine) -> None:
    model, _ = answering([idea("First", "AI", "Data Science"), idea("Second", "ai", "mobile")])
    with ideas_agent.override(model=model):
        data = GenerateProjectIdeasJob.now(count=2).data
    assert data is not None
    assert data.tags_created == 3  # ai, data-science, mobile
    with app.connect() as connection:
        names = connection.scalars(select(Tag.name).order_by(Tag.name)).all()
    assert names == ["ai", "data-science", "mobile"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"team_id": 99}, "team 99 does not exist (teams: 1 Engineering, 2 Design"),
        ({"team_id": "team-123"}, "team 'team-123' does not exist"),
        ({"user_id": 42}, "user 42 does not exist (users: 1 admin@example.com"),
    ],
)
def test_an_unknown_team_or_user_fails_once_with_a_clear_error(
    app: Engine, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(jobmill.JobFailed) as caught:
        GenerateProjectIdeasJob.now(count=1, **params)
    assert message in str(caught.value.__cause__)
    assert message in (caught.value.metadata.error or "")
    job_id = GenerateProjectIdeasJob.later(count=1, **params)
    testing.drain()
    stored = jobmill.get(job_id)
    assert stored.status == "failed" and stored.attempts == 1  # discarded, not retried
    assert count(app, Project) == 0


def test_invalid_params_are_refused_before_anything_is_stored(app: Engine) -> None:
    with pytest.raises(jobmill.InvalidParams, match="count"):
        GenerateProjectIdeasJob.later(count=0)
    with pytest.raises(jobmill.InvalidParams, match="theme"):
        GenerateProjectIdeasJob.later(theme="   ")
    with pytest.raises(jobmill.InvalidParams, match="team"):
        GenerateProjectIdeasJob.later(tema="typo", team="x")


def test_a_retried_attempt_asks_only_for_the_ideas_still_missing(
    app: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_save = repository.save_idea
    saved: list[str] = []

    def save_two_then_crash(*args: Any) -> repository.SavedIdea:
        if len(saved) == 2:
            saved.append("crash")
            raise ConnectionError("lost the connection mid-job")
        saved.append(args[1].title)
        return real_save(*args)

    monkeypatch.setattr(repository, "save_idea", save_two_then_crash)
    monkeypatch.setattr(GenerateProjectIdeasJob, "backoff", lambda self, attempt: 0.0)
    job_id = GenerateProjectIdeasJob.later(count=4, theme="Climate")
    assert testing.drain() == 2
    stored = jobmill.get(job_id)
    assert (stored.status, stored.attempts) == ("completed", 2)
    assert stored.result["projects_created"] == 4
    assert count(app, Project, Project.source_job_id == job_id) == 4
    asked = [e.message for e in jobmill.history(job_id) if (e.message or "").startswith("Asking")]
    assert [m.split(" for ")[0] for m in asked] == [
        "Asking the offline generator",
        "Asking the offline generator",
    ]
    assert "for 4 ideas" in asked[0] and "for 2 ideas" in asked[1]


def test_later_and_a_worker_pass_run_the_job_with_its_stored_params(app: Engine) -> None:
    job_id = GenerateProjectIdeasJob.later({"teamId": 3, "userId": 2, "count": 2})
    assert jobmill.get(job_id).params == {
        "team_id": 3,
        "theme": "Generate web development projects focused on AI",
        "count": 2,
        "user_id": 2,
    }
    testing.drain()
    result = jobmill.get(job_id).result
    assert (result["team_id"], result["user_id"], result["projects_created"]) == (3, 2, 2)
