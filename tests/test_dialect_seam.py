"""The dialect seam chosen for a URL, and what each dialect asks of its engine,
read without a database (the mutation run's quick checks of ``store/dialects.py``)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from jobmill.errors import ConfigurationError
from jobmill.storable import load_json
from jobmill.store.dialects import (
    POSTGRES_CONNECT_DEFAULTS,
    PostgresDialect,
    SQLiteDialect,
    dialect_for,
    normalise_url,
)

PG_URL = "postgresql+psycopg://jobmill@127.0.0.1:5432/app"


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("postgresql://jobmill@db/app", "postgresql+psycopg://jobmill@db/app"),
        ("postgres://jobmill@db/app", "postgresql+psycopg://jobmill@db/app"),
        (
            "postgresql://db/app?options=-csearch_path%3Dx",
            "postgresql+psycopg://db/app?options=-csearch_path%3Dx",
        ),
        # Only the scheme's separator: one in the query stays as it is.
        (
            "postgresql://db/app?application_name=a://b",
            "postgresql+psycopg://db/app?application_name=a://b",
        ),
        (PG_URL, PG_URL),
        ("postgresql+asyncpg://db/app", "postgresql+asyncpg://db/app"),
        ("sqlite:///jobs.db", "sqlite:///jobs.db"),
    ],
)
def test_plain_postgresql_urls_are_given_psycopg(url: str, normalised: str) -> None:
    assert normalise_url(url) == normalised


def test_sqlite_urls_get_the_sqlite_seam_with_their_driver() -> None:
    plain = dialect_for("sqlite:///jobs.db")
    assert isinstance(plain, SQLiteDialect)
    assert (plain.name, plain.driver, plain.extra) == ("sqlite", "pysqlite", None)
    libsql = dialect_for("sqlite+libsql:///jobs.db")
    assert isinstance(libsql, SQLiteDialect)
    assert (libsql.driver, libsql.extra) == ("libsql", "libsql")


def test_sqlite_engines_wait_for_the_write_lock_and_read_json_leniently() -> None:
    assert SQLiteDialect("pysqlite").engine_options(5) == {
        "connect_args": {"timeout": 30.0},
        "json_deserializer": load_json,
    }
    # libSQL's connection takes no timeout and has its own isolation level.
    assert SQLiteDialect("libsql").engine_options(5) == {
        "connect_args": {"isolation_level": None},
        "json_deserializer": load_json,
    }


@pytest.mark.parametrize("pooler", [None, "none", "session"])
def test_a_direct_or_session_pooled_server_keeps_sessions(pooler: str | None) -> None:
    dialect = dialect_for(PG_URL) if pooler is None else dialect_for(PG_URL, pooler)
    assert isinstance(dialect, PostgresDialect)
    assert dialect.keeps_sessions and dialect.writes_round_in_one_statement
    assert dialect.not_listening_because is None
    assert dialect.connect_defaults == POSTGRES_CONNECT_DEFAULTS
    assert dialect.listener(make_url(PG_URL)) is not None
    assert dialect.engine_options(7) == {"pool_size": 7, "max_overflow": 7}


def test_a_transaction_pooler_gets_self_contained_transactions() -> None:
    dialect = dialect_for(PG_URL, "transaction")
    assert isinstance(dialect, PostgresDialect)
    assert not dialect.keeps_sessions and not dialect.writes_round_in_one_statement
    # No prepared statements (the next transaction may run on another server
    # connection), no LISTEN, and the reason is said.
    assert dialect.connect_defaults == {**POSTGRES_CONNECT_DEFAULTS, "prepare_threshold": None}
    assert POSTGRES_CONNECT_DEFAULTS["prepare_threshold"] == 5
    assert dialect.listener(make_url(PG_URL)) is None
    assert dialect.not_listening_because == (
        "pg_pooler is 'transaction': LISTEN needs a session of its own"
    )


@pytest.mark.parametrize(
    ("url", "pooler", "message"),
    [
        (PG_URL, "bouncer", "pg_pooler: 'bouncer' is not one of 'none', 'session', 'transaction'"),
        ("sqlite:///jobs.db", "Transaction", "pg_pooler: 'Transaction' is not one of"),
        (
            "postgresql+asyncpg://db/app",
            "none",
            "database_url: driver 'asyncpg' is not supported; use postgresql+psycopg://",
        ),
        ("mysql://db/app", "none", "database_url: 'mysql' is not supported; use sqlite:///FILE"),
    ],
)
def test_an_unsupported_url_or_pooler_is_named(url: str, pooler: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        dialect_for(url, pooler)
    assert str(raised.value).startswith(message)
