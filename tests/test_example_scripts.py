"""bin/generate-projects and bin/jobs generate-projects, as a user runs them:
subprocesses against a fresh SQLite file (never the repository's demo database).
Each starts Python with SQLAlchemy and pydantic-ai, hence ``slow``."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from example_support import REPO, script_env
from project_ideas import database
from project_ideas.models import Project, Team

pytestmark = pytest.mark.slow


def run(script: str, *args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO / "bin" / script), *args],
        env=script_env(database_url),
        capture_output=True,
        text=True,
        timeout=90,
    )


def titles_by_team(database_url: str) -> dict[str, list[str]]:
    engine = database.make_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(Team.name, Project.title).join(Project.team).order_by(Project.id)
            ).all()
    finally:
        engine.dispose()
    found: dict[str, list[str]] = {}
    for team, title in rows:
        found.setdefault(team, []).append(title)
    return found


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'demo.db'}"


def test_generate_projects_creates_seeds_and_saves_with_zero_configuration(url: str) -> None:
    first = run("generate-projects", "--theme=AI and ML projects", "--count=3", database_url=url)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert "tables created, fixtures seeded" in lines[0]
    assert lines[1].startswith("Ideas from the offline generator (no network, no API key)")
    assert "Created 3 projects" in lines
    assert any(line.startswith("Created ") and line.endswith(" tags") for line in lines)

    again = run("generate-projects", "--count", "3", database_url=url)
    assert again.returncode == 0, again.stderr
    assert "tables created" not in again.stdout  # created once
    assert "Created 3 projects" in again.stdout.splitlines()
    saved = titles_by_team(url)
    assert list(saved) == ["Engineering"]  # the first team by default
    assert len(saved["Engineering"]) == len(set(saved["Engineering"])) == 6


def test_generate_projects_reports_bad_input_with_exit_codes(url: str) -> None:
    unknown = run("generate-projects", "--team-id=99", "--count=1", database_url=url)
    assert unknown.returncode == 1
    assert "error: team 99 does not exist (teams: 1 Engineering" in unknown.stderr
    assert "bin/jobs status " in unknown.stderr

    invalid = run("generate-projects", "--count=0", database_url=url)
    assert invalid.returncode == 2
    assert "count: Input should be greater than or equal to 1" in invalid.stderr
    assert titles_by_team(url) == {}


def test_jobs_cli_alias_runs_the_job_with_params(url: str) -> None:
    done = run(
        "jobs",
        "generate-projects",
        "--param",
        "theme=AI projects",
        "--param",
        "count=2",
        "--param",
        "teamId=2",
        database_url=url,
    )
    assert done.returncode == 0, done.stderr
    assert '"projects_created": 2' in done.stdout
    assert len(titles_by_team(url)["Design"]) == 2
    listed = run("jobs", "list", "--json", database_url=url)
    assert listed.returncode == 0, listed.stderr
    [job] = json.loads(listed.stdout)
    assert (job["job_name"], job["status"]) == ("GenerateProjectIdeasJob", "completed")
    assert job["params"] == {"team_id": 2, "theme": "AI projects", "count": 2, "user_id": None}
    assert job["result"]["projects_created"] == 2
