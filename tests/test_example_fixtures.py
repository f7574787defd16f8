"""The example application's schema and fixtures, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select

from project_ideas import database, fixtures
from project_ideas.models import Team, User


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = database.make_engine(database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def test_upgrade_creates_the_tables_with_their_own_version_table(engine: Engine) -> None:
    assert database.current_revision(engine) is None
    database.upgrade(engine)
    database.upgrade(engine)  # idempotent
    tables = set(inspect(engine).get_table_names())
    assert {"users", "teams", "projects", "tags", "project_tags"} <= tables
    assert database.VERSION_TABLE in tables
    assert "jobmill_alembic_version" not in tables  # jobmill's history stays its own
    assert database.current_revision(engine) == database.head_revision()


def test_seed_inserts_the_fixtures_once(engine: Engine) -> None:
    database.upgrade(engine)
    first = fixtures.seed(engine)
    again = fixtures.seed(engine)
    assert (first.users, first.teams) == (len(fixtures.USERS), len(fixtures.TEAMS))
    assert (again.users, again.teams) == (0, 0)
    assert fixtures.counts(engine) == (len(fixtures.USERS), len(fixtures.TEAMS))
    with engine.connect() as connection:
        admin = connection.execute(select(User).where(User.id == 1)).one()
        first_team = connection.execute(select(Team.name).order_by(Team.id).limit(1)).scalar()
        teams = connection.execute(select(Team.name).order_by(Team.id)).scalars().all()
    assert admin.is_admin and admin.email == "admin@example.com"
    assert first_team == "Engineering"
    assert len(teams) >= 3


def test_get_engine_migrates_and_seeds_on_first_use_and_shares_jobmills_database(
    database_url: str,
) -> None:
    import jobmill
    from jobmill import runtime

    jobmill.configure(database_url=database_url, auto_upgrade=True)
    try:
        runtime.get_store()  # jobmill's tables
        engine = database.get_engine()
        assert database.get_engine() is engine
        tables = set(inspect(engine).get_table_names())
        assert {"jobs", "jobmill_alembic_version", "projects", database.VERSION_TABLE} <= tables
        assert fixtures.counts(engine) == (len(fixtures.USERS), len(fixtures.TEAMS))
    finally:
        database.dispose_engines()
        runtime.reset()


def test_a_separate_application_database_can_be_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    import jobmill
    from jobmill import runtime

    app_url = f"sqlite:///{tmp_path}/app.db"
    monkeypatch.setenv("PROJECT_IDEAS_DATABASE_URL", app_url)
    jobmill.configure(database_url=sqlite_url)
    try:
        engine = database.get_engine()
        assert engine.url.database == f"{tmp_path}/app.db"
    finally:
        database.dispose_engines()
        runtime.reset()


def test_an_unsupported_database_url_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="mysql://x/y"):
        database.make_engine("mysql://x/y")
