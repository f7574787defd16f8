"""Seeded fixtures: the admin user (id 1), teams with Engineering first, a few more.

Seeding is idempotent and safe when several processes start at once: every
row is inserted with ``ON CONFLICT DO NOTHING`` on its fixed id.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select, text

from project_ideas.database import insert_ignoring_conflicts
from project_ideas.models import Team, User

ADMIN_USER_ID = 1

USERS = (
    {"id": ADMIN_USER_ID, "email": "admin@example.com", "name": "Admin", "is_admin": True},
    {"id": 2, "email": "ada@example.com", "name": "Ada Lovelace", "is_admin": False},
    {"id": 3, "email": "grace@example.com", "name": "Grace Hopper", "is_admin": False},
    {"id": 4, "email": "alan@example.com", "name": "Alan Turing", "is_admin": False},
)

TEAMS = (
    {"id": 1, "name": "Engineering", "slug": "engineering"},
    {"id": 2, "name": "Design", "slug": "design"},
    {"id": 3, "name": "Marketing", "slug": "marketing"},
    {"id": 4, "name": "Research", "slug": "research"},
)


@dataclass(frozen=True)
class Seeded:
    """How many fixture rows one ``seed`` call inserted (0 and 0 once seeded)."""

    users: int
    teams: int


def seed(engine: Engine) -> Seeded:
    """Insert the fixtures that are missing; returns how many were inserted."""
    with engine.begin() as connection:
        users = connection.execute(
            insert_ignoring_conflicts(engine, User).returning(User.id), list(USERS)
        ).all()
        teams = connection.execute(
            insert_ignoring_conflicts(engine, Team).returning(Team.id), list(TEAMS)
        ).all()
        if engine.dialect.name == "postgresql":
            # Rows inserted with explicit ids leave the id sequences behind.
            for table in ("users", "teams"):
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
        return Seeded(users=len(users), teams=len(teams))


def counts(engine: Engine) -> tuple[int, int]:
    """(users, teams) in the database."""
    with engine.connect() as connection:
        users = connection.scalar(select(func.count()).select_from(User)) or 0
        teams = connection.scalar(select(func.count()).select_from(Team)) or 0
    return users, teams
