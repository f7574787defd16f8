"""Reading and writing the application's rows: teams, users, projects, tags."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from project_ideas.database import insert_ignoring_conflicts
from project_ideas.errors import NotFound
from project_ideas.ideas import ProjectIdea, title_key
from project_ideas.models import Project, Tag, Team, User, project_tags

LISTED = 10


def find_team(db: Session, reference: int | str | None) -> Team:
    """The team with this id, slug or name; the first team (lowest id) for None."""
    if reference is None:
        team = db.scalars(select(Team).order_by(Team.id).limit(1)).first()
        if team is None:
            raise NotFound("no team exists: seed the fixtures first (bin/generate-projects does)")
        return team
    text = str(reference).strip()
    if text.isdigit():
        team = db.get(Team, int(text))
    else:
        team = db.scalars(
            select(Team).where((Team.slug == text.casefold()) | (Team.name == text))
        ).first()
    if team is None:
        known = db.scalars(select(Team).order_by(Team.id).limit(LISTED)).all()
        listed = ", ".join(f"{t.id} {t.name}" for t in known) or "none"
        raise NotFound(f"team {reference!r} does not exist (teams: {listed})")
    return team


def find_user(db: Session, user_id: int | None) -> User:
    """The user with this id; the admin user (lowest admin id) for None."""
    if user_id is None:
        user = db.scalars(select(User).where(User.is_admin).order_by(User.id).limit(1)).first()
        if user is None:
            raise NotFound("no admin user exists: seed the fixtures first")
        return user
    user = db.get(User, user_id)
    if user is None:
        known = db.scalars(select(User).order_by(User.id).limit(LISTED)).all()
        listed = ", ".join(f"{u.id} {u.email}" for u in known) or "none"
        raise NotFound(f"user {user_id!r} does not exist (users: {listed})")
    return user


def team_titles(db: Session, team_id: int) -> list[str]:
    """Titles of the team's projects, oldest first."""
    return list(
        db.scalars(select(Project.title).where(Project.team_id == team_id).order_by(Project.id))
    )


def projects_by_job(db: Session, job_id: str) -> list[int]:
    """Ids of the projects a job created (a retried attempt finds its earlier work)."""
    return list(
        db.scalars(select(Project.id).where(Project.source_job_id == job_id).order_by(Project.id))
    )


def tags_by_job(db: Session, job_id: str) -> int:
    """How many tags a job created."""
    return db.scalar(select(func.count()).select_from(Tag).where(Tag.source_job_id == job_id)) or 0


@dataclass(frozen=True)
class SavedIdea:
    """``project_id`` is None when the team already had a project with that title."""

    project_id: int | None
    tags_created: int


def save_idea(
    engine: Engine, idea: ProjectIdea, team_id: int, user_id: int, job_id: str
) -> SavedIdea:
    """Save one idea as a project with its tags, in one short transaction.

    A title the team already has is skipped; only tags that do not exist yet are
    created. Both hold under concurrent runs: the unique constraints decide.
    """
    with engine.begin() as connection:
        project_id = connection.execute(
            insert_ignoring_conflicts(engine, Project)
            .values(
                team_id=team_id,
                title=idea.title,
                title_key=title_key(idea.title),
                description=idea.description,
                created_by=user_id,
                source_job_id=job_id,
            )
            .returning(Project.id)
        ).scalar_one_or_none()
        if project_id is None:
            return SavedIdea(None, 0)
        created = 0
        for name in idea.tags:
            tag_id = connection.execute(
                insert_ignoring_conflicts(engine, Tag)
                .values(name=name, source_job_id=job_id)
                .returning(Tag.id)
            ).scalar_one_or_none()
            if tag_id is None:
                tag_id = connection.scalar(select(Tag.id).where(Tag.name == name))
            else:
                created += 1
            connection.execute(project_tags.insert().values(project_id=project_id, tag_id=tag_id))
        return SavedIdea(project_id, created)
