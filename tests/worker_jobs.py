"""Job classes for the worker tests, importable by worker processes (``--import worker_jobs``).

Jobs that prove exactly-once append one line per execution to a ledger file
(``O_APPEND`` writes of one short line are atomic between processes), so the
tests count side effects rather than rows.

``WORKER_TEST_BUSY_TIMEOUT_MS`` (set only in a worker process's environment)
shortens SQLite's busy timeout so that contention produces real "database is
locked" errors quickly.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import event
from sqlalchemy.pool import Pool

from jobmill import Job


def append_line(ledger: str, line: str) -> None:
    fd = os.open(ledger, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def read_lines(ledger: str | Path) -> list[str]:
    path = Path(ledger)
    return path.read_text().splitlines() if path.exists() else []


class WorkerNoopJob(Job[None, None]):
    def perform(self, params: None) -> None:
        return None


class WorkerAsyncNoopJob(Job[None, None]):
    async def perform(self, params: None) -> None:
        return None


class LedgerParams(BaseModel):
    ledger: str
    tag: str = ""
    seconds: float = 0.0
    seconds_on_retry: float | None = None  # how long attempts after the first take
    fail: bool = False
    hold_until: str | None = None  # the first attempt, past its end mark, waits for this file


class WorkerRecordJob(Job[LedgerParams, dict[str, Any]]):
    """Appends ``tag pid`` to the ledger, optionally fails (chains)."""

    max_attempts = 1

    def perform(self, params: LedgerParams) -> dict[str, Any]:
        append_line(params.ledger, f"{params.tag} {os.getpid()}")
        if params.seconds:
            time.sleep(params.seconds)
        if params.fail:
            raise RuntimeError(f"link {params.tag} failed")
        return {"tag": params.tag, "pid": os.getpid(), "upstream": self.dependency_results}


class WorkerSlowJob(Job[LedgerParams, dict[str, Any]]):
    """Writes ``start``, sleeps ``seconds`` (in short steps), writes ``end``; with
    ``hold_until``, the first attempt then waits until that file exists before
    it returns (its work done, its result not yet handed back)."""

    max_attempts = 3

    def perform(self, params: LedgerParams) -> dict[str, Any]:
        append_line(params.ledger, f"start {params.tag} {os.getpid()} {self.attempt}")
        seconds = params.seconds
        if self.attempt > 1 and params.seconds_on_retry is not None:
            seconds = params.seconds_on_retry
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(0.02)
        append_line(params.ledger, f"end {params.tag} {os.getpid()} {self.attempt}")
        if params.hold_until and self.attempt == 1:
            while not Path(params.hold_until).exists():
                time.sleep(0.02)
        return {"pid": os.getpid(), "attempt": self.attempt}


class WorkerFlakyJob(Job[LedgerParams, str]):
    """Fails on its first two attempts, succeeds on the third."""

    max_attempts = 5

    def perform(self, params: LedgerParams) -> str:
        append_line(params.ledger, f"attempt {self.attempt}")
        if self.attempt < 3:
            raise ConnectionError(f"flaky on attempt {self.attempt}")
        return f"ok on attempt {self.attempt}"

    def backoff(self, attempt: int) -> float:
        return 0.05


class WorkerExitJob(Job[LedgerParams, None]):
    """Kills the process running it."""

    max_attempts = 2

    def perform(self, params: LedgerParams) -> None:
        append_line(params.ledger, f"exit {os.getpid()} {self.attempt}")
        os._exit(3)


class WorkerAsyncSleepJob(Job[LedgerParams, str]):
    max_attempts = 1

    async def perform(self, params: LedgerParams) -> str:
        await asyncio.sleep(params.seconds)
        return "slept"


class WorkerCooperativeJob(Job[LedgerParams, str]):
    """A sync job that checks ``cancel_requested`` while it works."""

    max_attempts = 1

    def perform(self, params: LedgerParams) -> str:
        append_line(params.ledger, "started")
        deadline = time.monotonic() + params.seconds
        while time.monotonic() < deadline:
            self.raise_if_cancelled()
            time.sleep(0.01)
        return "finished"


class WorkerBusyLoopJob(Job[None, str]):
    timeout = 0.3
    max_attempts = 1

    def perform(self, params: None) -> str:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            pass  # pure Python: the timeout interrupts it
        return "too late"


class WorkerDiscardJob(Job[None, None]):
    max_attempts = 5
    discard_on = (PermissionError,)

    def perform(self, params: None) -> None:
        raise PermissionError("no point retrying")


class WorkerRetryOnJob(Job[None, None]):
    max_attempts = 5
    retry_on = (ConnectionError,)

    def perform(self, params: None) -> None:
        raise KeyError("not a connection problem")


class WorkerBackoffJob(Job[None, None]):
    max_attempts = 3

    def perform(self, params: None) -> None:
        raise ConnectionError("try later")

    def backoff(self, attempt: int) -> float:
        return 100.0 * attempt


class WorkerProgressJob(Job[LedgerParams, str]):
    max_attempts = 1

    def perform(self, params: LedgerParams) -> str:
        for step in range(1, 5):
            self.update_progress(step * 25, f"step {step}")
        return "done"


class Gauge:
    """How many gauge jobs run at once in this process, and the most seen."""

    def __init__(self) -> None:
        self.mutex = threading.Lock()
        self.now = 0
        self.peak = 0

    def enter(self) -> None:
        with self.mutex:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        with self.mutex:
            self.now -= 1


GAUGE = Gauge()


class GaugeParams(BaseModel):
    seconds: float = 0.05


class WorkerGaugeJob(Job[GaugeParams, None]):
    """Counts itself in ``GAUGE`` while it runs (a sync job)."""

    def perform(self, params: GaugeParams) -> None:
        GAUGE.enter()
        try:
            time.sleep(params.seconds)
        finally:
            GAUGE.leave()


class WorkerAsyncGaugeJob(Job[GaugeParams, None]):
    """Counts itself in ``GAUGE`` while it runs (an async job)."""

    async def perform(self, params: GaugeParams) -> None:
        GAUGE.enter()
        try:
            await asyncio.sleep(params.seconds)
        finally:
            GAUGE.leave()


def wait_until(condition: Any, timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll ``condition()`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s: {condition}")


def _short_busy_timeout(milliseconds: int) -> None:
    @event.listens_for(Pool, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={milliseconds}")
        cursor.close()


if os.environ.get("WORKER_TEST_BUSY_TIMEOUT_MS"):
    _short_busy_timeout(int(os.environ["WORKER_TEST_BUSY_TIMEOUT_MS"]))
