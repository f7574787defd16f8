"""``bin/generate-projects``: generate project ideas with zero configuration.

Creates and seeds the database on first run, then runs
``GenerateProjectIdeasJob.now(...)`` for the admin user and the first team
unless told otherwise, and prints what it created.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import selectinload

import jobmill
from project_ideas import config, database, fixtures
from project_ideas.jobs import (
    DEFAULT_COUNT,
    DEFAULT_THEME,
    MAX_COUNT,
    GenerateProjectIdeasJob,
    GenerateProjectIdeasResult,
)
from project_ideas.models import Project

EXAMPLES = """\
examples:
  bin/generate-projects
  bin/generate-projects --theme="AI and ML projects" --count=5
  bin/generate-projects --team-id=2 --user-id=2
  PROJECT_IDEAS_MODEL=openai:gpt-4o bin/generate-projects
"""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="generate-projects",
        description="Generate project ideas and save them as the team's projects.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--theme", default=DEFAULT_THEME, help="what the ideas are about")
    parser.add_argument(
        "--count", type=int, default=DEFAULT_COUNT, help=f"how many ideas (1-{MAX_COUNT})"
    )
    parser.add_argument(
        "--team-id", help="team id, slug or name (default: the first team, Engineering)"
    )
    parser.add_argument("--user-id", type=int, help="creating user (default: the admin, id 1)")
    parser.add_argument(
        "--model",
        help=f"pydantic-ai model, e.g. openai:gpt-4o (default: ${config.MODEL_VARIABLE})",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.model:
        os.environ[config.MODEL_VARIABLE] = args.model
    try:
        prepare_database()
        result = GenerateProjectIdeasJob.now(
            team_id=_team_reference(args.team_id),
            theme=args.theme,
            count=args.count,
            user_id=args.user_id,
        )
    except jobmill.InvalidParams as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except jobmill.JobFailed as exc:
        cause = exc.__cause__ or exc
        print(f"error: {cause}", file=sys.stderr)
        print(f"The failed job is recorded: bin/jobs status {exc.metadata.id}", file=sys.stderr)
        return 1
    report(result)
    return 0


def prepare_database() -> None:
    """Create or upgrade the application's tables and seed the fixtures."""
    url = config.database_url()
    engine = database.make_engine(url)
    try:
        created = database.current_revision(engine) is None
        database.upgrade(engine)
        seeded = fixtures.seed(engine)
    finally:
        engine.dispose()
    if created or seeded.users or seeded.teams:
        print(
            f"Database {database.display_url(url)}: tables created, fixtures seeded "
            f"({seeded.users} users, {seeded.teams} teams; admin user 1, first team Engineering)"
        )


def _team_reference(value: str | None) -> int | str | None:
    return int(value) if value is not None and value.strip().isdigit() else value


def report(result: jobmill.JobResult[GenerateProjectIdeasResult]) -> None:
    data = result.data
    assert data is not None  # a completed job has its result
    if data.offline:
        print(
            "Ideas from the offline generator (no network, no API key). For a real model: "
            f"{config.MODEL_VARIABLE}=openai:gpt-4o bin/generate-projects"
        )
    else:
        print(f"Ideas from {data.model}")
    for line in _project_lines(data.project_ids):
        print(f"  - {line}")
    for title in data.skipped_titles:
        print(f"  = {title}  (the team already has it, skipped)")
    print(f"Created {data.projects_created} projects")
    print(f"Created {data.tags_created} tags")
    duration = result.metadata.duration or 0.0
    print(f"Job {result.metadata.id} completed in {duration:.2f} s")


def _project_lines(project_ids: list[int]) -> list[str]:
    with database.session() as db:
        query = select(Project).where(Project.id.in_(project_ids)).order_by(Project.id)
        projects = db.scalars(query.options(selectinload(Project.tags)))
        return [f"{p.title}  [{', '.join(tag.name for tag in p.tags)}]" for p in projects]
