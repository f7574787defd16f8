"""The raw loops' table and statements, per database: jobmill's ``jobs`` columns
that a job's life touches, its partial claim index, its claim (best priority,
then run_at, then id) and its fenced completion (id, status, worker, attempt)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

BATCH = 100
QUEUE = "default"
WORKER = "raw-worker"


@dataclass(frozen=True)
class Statements:
    create: tuple[str, ...]
    insert: str
    claim: str
    complete: str  # one row (SQLite: also executemany'd for a batch)


def _create(json: str, time: str) -> tuple[str, ...]:
    return (
        "CREATE TABLE jobs (id VARCHAR(36) PRIMARY KEY, job_name VARCHAR(200) NOT NULL,"
        f" queue VARCHAR(100) NOT NULL, status VARCHAR(16) NOT NULL,"
        f" priority INTEGER NOT NULL DEFAULT 0, params {json}, result {json},"
        f" attempts INTEGER NOT NULL DEFAULT 0, run_at {time} NOT NULL,"
        f" enqueued_at {time} NOT NULL, started_at {time}, completed_at {time},"
        f" locked_by VARCHAR(255), locked_until {time}, updated_at {time} NOT NULL)",
        "CREATE INDEX ix_jobs_claim ON jobs (queue, priority DESC, run_at, id)"
        " WHERE status = 'pending'",
    )


SQLITE = Statements(
    create=_create("JSON", "DATETIME"),
    insert="INSERT INTO jobs (id, job_name, queue, status, params, run_at, enqueued_at,"
    " updated_at) VALUES (?, 'noop', ?, 'pending', ?, ?, ?, ?)",
    claim="UPDATE jobs SET status = 'running', locked_by = ?, locked_until = ?,"
    " attempts = attempts + 1, started_at = ?, updated_at = ?"
    " WHERE id IN (SELECT id FROM jobs WHERE status = 'pending' AND queue = ? AND run_at <= ?"
    " ORDER BY priority DESC, run_at, id LIMIT ?) RETURNING id, params, attempts",
    complete="UPDATE jobs SET status = 'completed', result = 'null', completed_at = ?,"
    " updated_at = ? WHERE id = ? AND status = 'running' AND locked_by = ? AND attempts = ?",
)

POSTGRES = Statements(
    create=_create("JSONB", "TIMESTAMPTZ"),
    insert="INSERT INTO jobs (id, job_name, queue, status, params, run_at, enqueued_at,"
    " updated_at) VALUES (%s, 'noop', %s, 'pending', %s, %s, %s, %s)",
    claim="WITH claimable AS MATERIALIZED (SELECT id FROM jobs WHERE status = 'pending'"
    " AND queue = %s AND run_at <= %s ORDER BY priority DESC, run_at, id LIMIT %s"
    " FOR UPDATE SKIP LOCKED)"
    " UPDATE jobs SET status = 'running', locked_by = %s, locked_until = %s,"
    " attempts = jobs.attempts + 1, started_at = %s, updated_at = %s"
    " FROM claimable WHERE jobs.id = claimable.id RETURNING jobs.id, jobs.params, jobs.attempts",
    # Every row of the batch in one statement, each still fenced by its own attempt.
    complete="UPDATE jobs SET status = 'completed', result = 'null', completed_at = %s,"
    " updated_at = %s FROM unnest(%s::varchar[], %s::int[]) AS done(id, attempt)"
    " WHERE jobs.id = done.id AND jobs.status = 'running' AND jobs.locked_by = %s"
    " AND jobs.attempts = done.attempt",
)

COPY = "COPY jobs (id, job_name, queue, status, params, run_at, enqueued_at, updated_at) FROM STDIN"


def job_id(n: int, space: int = 0) -> str:
    """An ordered id, like jobmill's UUIDv7: rows append to the primary key.
    Each ``space`` (a use: backlog, wake-ups) has ids of its own."""
    return str(uuid.UUID(int=(0x0190 << 112) + (space << 64) + (1 << 48) + n))


def params(n: int) -> str:
    return f'{{"n": {n}}}'
