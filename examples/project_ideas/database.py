"""The application's engine: created, migrated and seeded on first use.

SQLite gets the settings a shared file needs (WAL, busy timeout, foreign keys)
and write transactions that begin IMMEDIATE: jobmill's worker writes to the
same file, and a deferred transaction that reads and then writes fails at
once with "database is locked" instead of waiting its turn.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from project_ideas import config

VERSION_TABLE = "project_ideas_alembic_version"

_mutex = threading.Lock()
_engines: dict[str, Engine] = {}


def normalise_url(url: str) -> str:
    """Plain ``postgresql://`` URLs use psycopg 3, like jobmill's."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> Engine:
    """An engine for ``url``, without touching the schema."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30.0})
        _prepare_sqlite(engine)
        return engine
    if url.startswith("postgresql"):
        return create_engine(url, pool_pre_ping=True)
    raise ValueError(f"database URL {url!r}: use sqlite:///FILE or postgresql://...")


def _prepare_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's begin hook decides
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def display_url(url: str) -> str:
    """``url`` with any password hidden, for messages."""
    return make_url(normalise_url(url)).render_as_string(hide_password=True)


def alembic_config() -> Config:
    config = Config()
    location = resources.files("project_ideas") / "migrations"
    config.set_main_option("script_location", str(location))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the application's tables to ``revision`` (idempotent)."""
    if revision == "head" and current_revision(engine) == head_revision():
        return
    alembic = alembic_config()
    with engine.begin() as connection:
        alembic.attributes["connection"] = connection
        command.upgrade(alembic, revision)


def get_engine(url: str | None = None) -> Engine:
    """The engine for ``url`` (default: ``config.database_url()``), migrated and
    seeded with the fixtures the first time this process uses it."""
    from project_ideas.fixtures import seed

    url = normalise_url(url or config.database_url())
    with _mutex:
        engine = _engines.get(url)
        if engine is None:
            engine = make_engine(url)
            try:
                upgrade(engine)
                seed(engine)
            except BaseException:
                engine.dispose()
                raise
            _engines[url] = engine
        return engine


def _forget_pools_in_child() -> None:
    # A forked worker must not share its parent's pooled connections.
    for engine in list(_engines.values()):
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_pools_in_child)


def dispose_engines() -> None:
    """Close every engine (tests, forked processes)."""
    with _mutex:
        engines = list(_engines.values())
        _engines.clear()
    for engine in engines:
        engine.dispose()


@contextmanager
def session(url: str | None = None) -> Iterator[Session]:
    """A session in one transaction, committed when the block ends without error."""
    with Session(get_engine(url)) as db, db.begin():
        yield db


def insert_ignoring_conflicts(engine_or_session: Engine | Session, table: Any) -> Insert:
    """``INSERT ... ON CONFLICT DO NOTHING`` for SQLite or PostgreSQL: a row that
    would break a unique constraint is skipped, not an error, even under races."""
    bind = (
        engine_or_session.get_bind()
        if isinstance(engine_or_session, Session)
        else engine_or_session
    )
    factory = postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert
    return factory(table).on_conflict_do_nothing()
