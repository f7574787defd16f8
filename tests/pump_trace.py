"""Which statements a worker's pump thread runs, as lines in a file: the rounds
that claim jobs (and record outcomes), and the looks before them.

A wake-up test enqueues a job only once the pump has looked and found nothing
since its first claim or since the round that recorded the job before, so
that the job cannot be found by a look made for another reason. In this process, trace an
engine with ``PumpTrace(path).watch(engine)``; a worker process traces itself
when started with ``--import pump_trace`` and ``WORKER_TEST_PUMP_TRACE=path``.
"""

from __future__ import annotations

import os
import re
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event

from jobmill.worker import pump
from worker_jobs import append_line, read_lines, wait_until

PUMP_TRACE = "WORKER_TEST_PUMP_TRACE"
PUMP_THREAD = "jobmill-pump-"  # one thread per lane: jobmill-pump-1, -2, …
JOBS = re.compile(r"\bjobs\b", re.IGNORECASE)


class PumpTrace:
    """One line per statement about jobs that a pump thread ran: when it
    started and when it ended (seconds since the epoch). SQLAlchemy's events
    show the statements it runs; the one-statement round (PostgreSQL), sent on
    the driver's own connection, is traced where the pump calls it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def watch(self, target: Any) -> None:
        """Trace the pump statements of ``target`` (an engine, or ``Engine``)."""
        running = threading.local()

        def traced(statement: str) -> bool:
            # Statements about jobs only: not the session set-up or a BEGIN.
            name = threading.current_thread().name
            return name.startswith(PUMP_THREAD) and bool(JOBS.search(statement))

        @event.listens_for(target, "before_cursor_execute")
        def _started(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if traced(statement):
                running.since = time.time()

        @event.listens_for(target, "after_cursor_execute")
        def _ended(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if traced(statement):
                append_line(str(self.path), f"{running.since!r} {time.time()!r}")

        sent = pump.complete_and_claim

        def complete_and_claim(conn: Connection, *args: Any) -> Any:
            since = time.time()
            try:
                return sent(conn, *args)
            finally:
                if target is Engine or conn.engine is target:
                    append_line(str(self.path), f"{since!r} {time.time()!r}")

        pump.complete_and_claim = complete_and_claim

    def statements(self) -> list[tuple[float, float]]:
        return [(float(a), float(b)) for a, b in (line.split() for line in read_lines(self.path))]

    def wait_for_a_look_after(self, written_at: datetime | None, timeout: float = 30.0) -> None:
        """Until the pump looked for jobs after the round that wrote at
        ``written_at`` (a job's ``completed_at``: the round's time, taken just
        before its statement), or after its first claim (None)."""

        def looked() -> bool:
            statements = self.statements()
            if written_at is None:
                return bool(statements)
            after = written_at.timestamp()
            rounds = [end for start, end in statements if start >= after]
            return bool(rounds) and any(start > rounds[0] for start, _ in statements)

        wait_until(looked, timeout)


if os.environ.get(PUMP_TRACE):
    PumpTrace(Path(os.environ[PUMP_TRACE])).watch(Engine)
