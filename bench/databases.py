"""Fresh databases: a PostgreSQL database of the bench's own (dropped and
created again for every measurement), or a SQLite file in a scratch directory."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from .config import DATABASE_PREFIX, PG_ADMIN_DSN


def pg_uri(database: str, scheme: str = "postgresql") -> str:
    """A URI for ``database`` on the bench's server; ``scheme="postgresql+psycopg"``
    makes it an SQLAlchemy URL (jobmill's ``database_url``)."""
    params = conninfo_to_dict(PG_ADMIN_DSN)
    user = params.get("user", "postgres")
    host = params.get("host", "127.0.0.1")
    port = params.get("port", "5432")
    return f"{scheme}://{user}@{host}:{port}/{database}"


def postgres_version() -> str | None:
    """The server's version, or None when it is unreachable."""
    try:
        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=5) as conn:
            row = conn.execute("SHOW server_version").fetchone()
    except psycopg.Error:
        return None
    return str(row[0]) if row else None


def _admin(sql: str) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]  # names built by this module only


def drop_database(name: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def fresh_pg_database(purpose: str) -> Iterator[str]:
    """An empty database ``jobmill_bench_<purpose>``; yields its name, drops it after."""
    name = f"{DATABASE_PREFIX}_{purpose}"
    drop_database(name)
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        drop_database(name)


@contextlib.contextmanager
def scratch_directory(purpose: str) -> Iterator[Path]:
    """A new directory for SQLite files, marks and logs; removed after."""
    path = Path(tempfile.mkdtemp(prefix=f"{DATABASE_PREFIX}_{purpose}_"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
