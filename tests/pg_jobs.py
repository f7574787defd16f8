"""Jobs for the PostgreSQL worker-process tests (imported by ``jobmill worker
--import pg_jobs``): each execution is recorded in a side table of its own.

The side table is written through a connection of its own, named
``pg_jobs_side`` so that tests that terminate the workers' sessions leave it
alone; every execution inserts a row, so a job run twice shows up twice.
"""

from __future__ import annotations

import os
import threading

from pydantic import BaseModel
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from jobmill import Job
from jobmill.store.dialects import normalise_url

SIDE_TABLE = "pg_executions"
_engine: Engine | None = None
_engine_mutex = threading.Lock()


def side_engine(url: str | None = None) -> Engine:
    """An engine on the database the worker uses, under its own session name."""
    global _engine
    with _engine_mutex:
        if _engine is None:
            base = make_url(normalise_url(url or os.environ["JOBMILL_DATABASE_URL"]))
            named = base.update_query_dict({"application_name": "pg_jobs_side"})
            _engine = create_engine(named, pool_pre_ping=True, pool_size=4)
        return _engine


def create_side_table(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                f"CREATE TABLE {SIDE_TABLE} (id BIGSERIAL PRIMARY KEY, job_id TEXT NOT NULL,"
                " n INTEGER NOT NULL, attempt INTEGER NOT NULL, pid INTEGER NOT NULL)"
            )
        )
    engine.dispose()


def execution_counts(url: str) -> dict[int, int]:
    """How many times each ``n`` was executed."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT n, count(*) FROM {SIDE_TABLE} GROUP BY n")).all()
    engine.dispose()
    return {int(n): int(count) for n, count in rows}


class PgRecordParams(BaseModel):
    n: int


class PgRecordJob(Job[PgRecordParams, int]):
    """Records its execution, then returns ``n``."""

    queue = "pg-record"
    max_attempts = 5

    def backoff(self, attempt: int) -> float:
        return 0.1

    def perform(self, params: PgRecordParams) -> int:
        with side_engine().begin() as conn:
            conn.execute(
                text(
                    f"INSERT INTO {SIDE_TABLE} (job_id, n, attempt, pid)"
                    " VALUES (:job_id, :n, :attempt, :pid)"
                ),
                {"job_id": self.id, "n": params.n, "attempt": self.attempt, "pid": os.getpid()},
            )
        return params.n
