"""PostgreSQL's raw limits, through ``psycopg`` (see ``bench.limits``)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from ..config import Counts
from ..databases import fresh_pg_database, pg_uri
from ..results import Figure
from .statements import BATCH, COPY, POSTGRES, QUEUE, WORKER, job_id, params
from .wakeup import CHANNEL, measure_wakeup
from .wakeup import QUEUE as WAKEUP


def insert(conn: psycopg.Connection[Any], n: int, queue: str, space: int = 0) -> None:
    """Insert job ``n`` in its own transaction."""
    at = datetime.now(UTC)
    conn.execute(POSTGRES.insert, (job_id(n, space), queue, params(n), at, at, at))
    conn.commit()


def insert_and_notify(conn: psycopg.Connection[Any], n: int) -> None:
    """Insert job ``n`` and NOTIFY the listener, in one transaction."""
    at = datetime.now(UTC)
    conn.execute(POSTGRES.insert, (job_id(n, 1), WAKEUP, params(n), at, at, at))
    conn.execute(f"NOTIFY {CHANNEL}")
    conn.commit()


def insert_one(conn: psycopg.Connection[Any], ns: range) -> float:
    start = time.perf_counter()
    for n in ns:
        insert(conn, n, "unclaimed")
    return len(ns) / (time.perf_counter() - start)


def copy_bulk(conn: psycopg.Connection[Any], ns: range) -> float:
    at = datetime.now(UTC)
    rows = [(job_id(n), "noop", QUEUE, "pending", params(n), at, at, at) for n in ns]
    start = time.perf_counter()
    with conn.cursor().copy(COPY) as copy:
        for row in rows:
            copy.write_row(row)
    conn.commit()
    return len(ns) / (time.perf_counter() - start)


def claim(conn: psycopg.Connection[Any], limit: int, queue: str = QUEUE) -> list[tuple[Any, ...]]:
    """Claim up to ``limit`` ready jobs of ``queue`` in one transaction: (id, params, attempt)."""
    at = datetime.now(UTC)
    until = at + timedelta(seconds=300)
    rows = conn.execute(POSTGRES.claim, (queue, at, limit, WORKER, until, at, at)).fetchall()
    conn.commit()
    return rows


def complete(conn: psycopg.Connection[Any], rows: list[tuple[Any, ...]]) -> None:
    at = datetime.now(UTC)
    ids = [row[0] for row in rows]
    attempts = [row[2] for row in rows]
    cursor = conn.execute(POSTGRES.complete, (at, at, ids, attempts, WORKER))
    assert cursor.rowcount == len(rows), f"completed {cursor.rowcount} of {len(rows)}"
    conn.commit()


def cycles(conn: psycopg.Connection[Any], count: int, size: int) -> float:
    """Jobs per second claimed and completed ``size`` at a time, ``count`` jobs in all."""
    start = time.perf_counter()
    for _ in range(count // size):
        rows = claim(conn, size)
        assert len(rows) == size, f"claimed {len(rows)} of {size}"
        complete(conn, rows)
    return count / (time.perf_counter() - start)


def run(counts: Counts, workdir: Path) -> list[Figure]:
    with fresh_pg_database("raw") as name, psycopg.connect(pg_uri(name)) as conn:
        for statement in POSTGRES.create:
            conn.execute(statement)  # type: ignore[arg-type]
        conn.commit()
        single = insert_one(conn, range(counts.single))
        bulk = copy_bulk(conn, range(counts.single, counts.single + counts.bulk))
        one = cycles(conn, counts.raw_cycles, 1)
        batch = cycles(conn, counts.raw_batches * BATCH, BATCH)
        wakeup = measure_wakeup(
            "postgresql", pg_uri(name), lambda n: insert_and_notify(conn, n), counts, workdir
        )
    return [
        Figure("raw_insert_one", "raw", "postgresql", single, "jobs/s", "INSERT + COMMIT"),
        Figure("raw_insert_bulk", "raw", "postgresql", bulk, "jobs/s", "COPY, one COMMIT"),
        Figure("raw_cycle_one", "raw", "postgresql", one, "jobs/s", "claim + complete, 1 per txn"),
        Figure("raw_cycle_batch", "raw", "postgresql", batch, "jobs/s", f"in batches of {BATCH}"),
        *wakeup,
    ]
