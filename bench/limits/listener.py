"""The raw limit's waiting worker, in a process of its own:
``python -m bench.limits.listener sqlite PATH`` or ``… postgresql DSN``.

It wakes on another process's commit (SQLite: ``PRAGMA data_version`` every
millisecond; PostgreSQL: LISTEN), claims what is ready in the wake-up queue
and marks each claimed job as started.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..marks import record
from .wakeup import CHANNEL, QUEUE

POLL = 0.001


def claim_all(claim: Callable[[int, str], Sequence[tuple[Any, ...]]]) -> None:
    while rows := claim(10, QUEUE):
        for _, params, _ in rows:
            record((json.loads(params) if isinstance(params, str) else params)["n"])


def listen_sqlite(path: str) -> None:
    from . import sqlite

    conn = sqlite.connect(Path(path))
    seen = None
    while True:
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        if version != seen:
            seen = version
            claim_all(lambda limit, queue: sqlite.claim(conn, limit, queue))
        time.sleep(POLL)


def listen_postgres(dsn: str) -> None:
    import psycopg

    from . import postgresql

    waiter = psycopg.connect(dsn, autocommit=True)
    waiter.execute(f"LISTEN {CHANNEL}")
    claimer = psycopg.connect(dsn)
    claim_all(lambda limit, queue: postgresql.claim(claimer, limit, queue))  # before LISTEN took
    for _ in waiter.notifies():
        claim_all(lambda limit, queue: postgresql.claim(claimer, limit, queue))


if __name__ == "__main__":
    backend, target = sys.argv[1:3]
    (listen_sqlite if backend == "sqlite" else listen_postgres)(target)
