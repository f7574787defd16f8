"""SQLite's raw limits, through ``sqlite3`` (see ``bench.limits``)."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..config import Counts
from ..results import Figure
from .statements import BATCH, QUEUE, SQLITE, WORKER, job_id, params
from .wakeup import QUEUE as WAKEUP
from .wakeup import measure_wakeup


def connect(path: Path) -> sqlite3.Connection:
    """A connection as jobmill sets one up: WAL, synchronous=NORMAL, transactions by hand."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def now() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(" ")


def insert(conn: sqlite3.Connection, n: int, queue: str, space: int = 0) -> None:
    """Insert job ``n`` in its own transaction."""
    at = now()
    conn.execute(SQLITE.insert, (job_id(n, space), queue, params(n), at, at, at))


def insert_one(conn: sqlite3.Connection, ns: range, queue: str) -> float:
    start = time.perf_counter()
    for n in ns:
        insert(conn, n, queue)
    return len(ns) / (time.perf_counter() - start)


def insert_bulk(conn: sqlite3.Connection, ns: range) -> float:
    at = now()
    rows = [(job_id(n), QUEUE, params(n), at, at, at) for n in ns]
    start = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(SQLITE.insert, rows)
    conn.execute("COMMIT")
    return len(ns) / (time.perf_counter() - start)


def claim(conn: sqlite3.Connection, limit: int, queue: str = QUEUE) -> list[tuple[str, str, int]]:
    """Claim up to ``limit`` ready jobs of ``queue`` in one transaction: (id, params, attempt)."""
    at = now()
    until = (datetime.now(UTC) + timedelta(seconds=300)).replace(tzinfo=None).isoformat(" ")
    conn.execute("BEGIN IMMEDIATE")
    rows = conn.execute(SQLITE.claim, (WORKER, until, at, at, queue, at, limit)).fetchall()
    conn.execute("COMMIT")
    return rows


def complete(conn: sqlite3.Connection, rows: list[tuple[str, str, int]]) -> None:
    at = now()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(SQLITE.complete, ((at, at, i, WORKER, attempt) for i, _, attempt in rows))
    conn.execute("COMMIT")


def cycles(conn: sqlite3.Connection, count: int, size: int) -> float:
    """Jobs per second claimed and completed ``size`` at a time, ``count`` jobs in all."""
    start = time.perf_counter()
    for _ in range(count // size):
        rows = claim(conn, size)
        assert len(rows) == size, f"claimed {len(rows)} of {size}"
        complete(conn, rows)
    return count / (time.perf_counter() - start)


def run(counts: Counts, workdir: Path) -> list[Figure]:
    path = workdir / "raw.db"
    conn = connect(path)
    for statement in SQLITE.create:
        conn.execute(statement)
    # Single inserts go to a queue nobody claims; the bulk is the backlog the cycles drain.
    single = insert_one(conn, range(counts.single), "unclaimed")
    bulk = insert_bulk(conn, range(counts.single, counts.single + counts.bulk))
    one = cycles(conn, counts.raw_cycles, 1)
    batch = cycles(conn, counts.raw_batches * BATCH, BATCH)
    wakeup = measure_wakeup(
        "sqlite", str(path), lambda n: insert(conn, n, WAKEUP, 1), counts, workdir
    )
    conn.close()
    return [
        Figure("raw_insert_one", "raw", "sqlite", single, "jobs/s", "INSERT + COMMIT"),
        Figure("raw_insert_bulk", "raw", "sqlite", bulk, "jobs/s", "executemany, one COMMIT"),
        Figure("raw_cycle_one", "raw", "sqlite", one, "jobs/s", "claim + complete, 1 per txn"),
        Figure("raw_cycle_batch", "raw", "sqlite", batch, "jobs/s", f"in batches of {BATCH}"),
        *wakeup,
    ]
