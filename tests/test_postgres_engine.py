"""PostgreSQL engine set-up: URLs, the missing-driver hint, pool sizing, session defaults."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import text

import jobmill
from jobmill import ConfigurationError, runtime
from jobmill.store.dialects import PostgresDialect, dialect_for, normalise_url
from jobmill.store.engine import make_engine


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///jobs.db", "sqlite:///jobs.db"),
    ],
)
def test_normalise_url_uses_psycopg_3(given: str, expected: str) -> None:
    assert normalise_url(given) == expected


def test_postgres_urls_get_the_postgres_dialect() -> None:
    assert isinstance(dialect_for("postgresql+psycopg://u@h/db"), PostgresDialect)


def test_other_postgres_drivers_are_refused_by_name() -> None:
    with pytest.raises(ConfigurationError, match=r"driver 'asyncpg' is not supported"):
        dialect_for("postgresql+asyncpg://u@h/db")


def test_missing_driver_gives_the_install_command() -> None:
    # A fresh interpreter where importing psycopg fails, as on an install
    # without the extra.
    code = (
        "import sys; sys.modules['psycopg'] = None\n"
        "from jobmill.store.engine import make_engine\n"
        "try:\n"
        "    make_engine('postgresql://u@127.0.0.1/db')\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "ConfigurationError" in out
    assert "pip install 'jobmill[postgres]'" in out


def test_pool_is_sized_from_the_concurrency(pg_schema_url: str) -> None:
    jobmill.configure(database_url=pg_schema_url, concurrency=7, auto_upgrade=True)
    try:
        pool = runtime.get_store().engine.pool
        assert pool.size() == 7 + 2  # type: ignore[attr-defined]
    finally:
        runtime.reset()


def test_sessions_are_named_and_kept_alive_unless_the_url_says_otherwise(
    pg_schema_url: str,
) -> None:
    engine, _ = make_engine(pg_schema_url)
    named, _ = make_engine(f"{pg_schema_url}&application_name=billing-worker")
    try:
        with engine.connect() as conn:
            name, search_path = conn.execute(
                text("SELECT current_setting('application_name'), current_setting('search_path')")
            ).one()
            # Keepalives are the client socket's: libpq reports them.
            client = conn.connection.driver_connection.info.get_parameters()  # type: ignore[union-attr]
        with named.connect() as conn:
            own_name = conn.execute(text("SELECT current_setting('application_name')")).scalar()
    finally:
        engine.dispose()
        named.dispose()
    assert name == "jobmill"
    assert (client["keepalives"], client["keepalives_idle"]) == ("1", "30")
    assert search_path == pg_schema_url.rsplit("%3D", 1)[1]
    assert own_name == "billing-worker"
