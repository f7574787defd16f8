"""Shared fixtures: a real SQLite file or a real PostgreSQL schema per test.

PostgreSQL tests run when the server at ``JOBMILL_TEST_PG`` (default
127.0.0.1:5432, database ``test``) answers. In CI (``CI=true``) it must answer:
the tests fail instead of skipping (``unavailable``), as every test does that
needs something the machine lacks.

Modules marked ``through_pgbouncer`` run their ``database_url`` tests a third
time, through a PgBouncer in transaction mode started for the session
(``tests/pgbouncer.py``), with ``JOBMILL_PG_POOLER=transaction`` set.

Every test starts and ends with jobmill unconfigured, so settings never leak
from one test into another whatever order they run in (pytest-randomly
shuffles it; ``-p no:randomly`` keeps the file order).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import jobmill
from jobmill import runtime
from jobmill.store import Store
from pgbouncer import PgBouncer, install_if_missing

PG_URL = os.environ.get("JOBMILL_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]


def _pg_unreachable_reason() -> str | None:
    try:
        engine = create_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL at {PG_URL} is not reachable: {exc.__class__.__name__}: {exc}"
    return None


_PG_REASON = _pg_unreachable_reason()


def unavailable(reason: str) -> NoReturn:
    """Skip a test that needs what this machine lacks; in CI, fail it instead."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run this test: {reason}")
    pytest.skip(reason)


def require_postgres() -> None:
    if _PG_REASON is not None:
        unavailable(_PG_REASON)


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A fresh PostgreSQL schema, as a URL whose search_path points at it."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, pool_pre_ping=True)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def pgbouncer() -> Iterator[PgBouncer]:
    """A PgBouncer in transaction mode in front of the test server."""
    require_postgres()
    reason = install_if_missing()
    if reason is not None:
        unavailable(reason)
    bouncer = PgBouncer(PG_URL)
    try:
        yield bouncer
    finally:
        bouncer.stop()


@pytest.fixture
def pgbouncer_schema_url(
    pg_schema_url: str, pgbouncer: PgBouncer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A fresh schema reached through PgBouncer in transaction mode, with
    ``JOBMILL_PG_POOLER=transaction`` set (``pooler_env`` passes it on)."""
    schema = make_url(pg_schema_url).query["options"].split("=", 1)[1]
    monkeypatch.setenv("JOBMILL_PG_POOLER", "transaction")
    try:
        yield pgbouncer.add_database(schema)
    finally:
        pgbouncer.remove_database(schema)


def pooler_env() -> dict[str, str]:
    """The pooler setting of this test, for the processes it starts."""
    value = os.environ.get("JOBMILL_PG_POOLER")
    return {"JOBMILL_PG_POOLER": value} if value else {}


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # A parametrize mark (read by pytest after this) overrides the fixture's own params.
    definition = metafunc.definition
    if (
        "database_url" in metafunc.fixturenames
        and definition.get_closest_marker("through_pgbouncer")
        and not definition.get_closest_marker("needs_listen")
    ):
        backends = pytest.mark.parametrize("database_url", [*BACKENDS, "pgbouncer"], indirect=True)
        definition.add_marker(backends)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database, once per backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'jobs.db'}"
    elif request.param == "pgbouncer":
        yield request.getfixturevalue("pgbouncer_schema_url")
    else:
        yield request.getfixturevalue("pg_schema_url")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'jobs.db'}"


@pytest.fixture
def configured(database_url: str) -> Iterator[Store]:
    """jobmill configured on ``database_url`` (tables created); yields its store."""
    jobmill.configure(database_url=database_url, auto_upgrade=True, progress_interval=0)
    try:
        yield runtime.get_store()
    finally:
        runtime.reset()


@pytest.fixture
def sqlite_configured(sqlite_url: str) -> Iterator[Store]:
    """jobmill configured on a SQLite file only (for SQLite-specific behaviour)."""
    jobmill.configure(database_url=sqlite_url, progress_interval=0)
    try:
        yield runtime.get_store()
    finally:
        runtime.reset()


@pytest.fixture(autouse=True)
def _fresh_runtime() -> Iterator[None]:
    """No settings or store from an earlier test; none left for the next."""
    runtime.reset()
    yield
    runtime.reset()


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No JOBMILL_* leaks in, and no pyproject.toml of the repository is read."""
    for name in list(os.environ):
        if name.startswith("JOBMILL_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
