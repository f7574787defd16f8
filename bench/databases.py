"""Fresh databases for benchmarks: a SQLite file or a PostgreSQL schema."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy

import jobmill
from jobmill import runtime
from jobmill.store import Store

from .report import PG_URL


@contextmanager
def fresh_database(backend: str) -> Iterator[tuple[str, Store]]:
    """Configure jobmill on an empty database of ``backend``; yields (url, store)."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            jobmill.configure(database_url=url)
            try:
                yield url, runtime.get_store()
            finally:
                runtime.reset()
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    jobmill.configure(database_url=url, auto_upgrade=True)
    try:
        yield url, runtime.get_store()
    finally:
        runtime.reset()
        with admin.begin() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
