"""Progress reporting: cheap for the job, persisted in batches.

``update_progress`` validates, records the update in memory and notifies
listeners (a CLI progress bar); writes to the database happen at most every
``progress_interval`` seconds, off the event loop for async jobs, and whatever
is left is written with the attempt's end.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from jobmill.clock import utcnow
from jobmill.outcomes import Lock, ProgressUpdate
from jobmill.store.errors import is_transient

if TYPE_CHECKING:
    from jobmill.store import Store

logger = logging.getLogger("jobmill.progress")
Listener = Callable[[ProgressUpdate], None]


def check_percent(percent: float) -> float:
    if isinstance(percent, bool) or not isinstance(percent, int | float) or math.isnan(percent):
        raise ValueError(f"progress percent must be a number from 0 to 100, got {percent!r}")
    if not 0 <= percent <= 100:
        raise ValueError(f"progress percent must be from 0 to 100, got {percent}")
    return float(percent)


class ProgressReporter:
    """Buffers one attempt's progress updates and flushes them under its lock."""

    def __init__(
        self,
        store: Store | None,
        lock: Lock | None,
        interval: float,
        listeners: list[Listener] | None = None,
    ) -> None:
        self._store = store
        self._lock = lock
        self._interval = interval
        self._listeners = listeners or []
        self._pending: list[ProgressUpdate] = []
        self._mutex = threading.Lock()
        self._io = threading.Lock()
        self._last_flush = time.monotonic()
        self._flushing = False
        self._tasks: set[asyncio.Task[None]] = set()

    def update(self, percent: float, message: str | None) -> None:
        if message is not None:
            message = str(message).replace("\x00", "\\x00")  # PostgreSQL text holds no NUL
        entry = ProgressUpdate(check_percent(percent), message, utcnow())
        with self._mutex:
            self._pending.append(entry)
            due = time.monotonic() - self._last_flush >= self._interval and not self._flushing
            if due:
                self._flushing = True
        for listener in self._listeners:
            listener(entry)
        if due:
            self._flush_soon()

    def _flush_soon(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        # Async job: never block its event loop on a database write.
        task = loop.create_task(asyncio.to_thread(self.flush))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def flush(self) -> None:
        """Write buffered updates now (called from a thread, never the event loop)."""
        try:
            with self._io:
                self._write(self.take())
        finally:
            with self._mutex:
                self._flushing = False
                self._last_flush = time.monotonic()

    def _write(self, updates: list[ProgressUpdate]) -> None:
        if not (updates and self._store is not None and self._lock is not None):
            return
        try:
            written = self._store.record_progress(self._lock, updates)
        except Exception as exc:
            if not is_transient(exc):
                raise
            # A locked or briefly lost database must not fail the job: keep the
            # updates, they are written later (at the latest with the outcome).
            with self._mutex:
                self._pending[:0] = updates
            logger.debug("progress write postponed: %s", exc)
            return
        if not written:
            logger.warning("progress of job %s discarded: lock lost", self._lock.job_id)

    @property
    def flushing(self) -> bool:
        """A write of buffered updates is in flight."""
        return self._flushing

    def take(self) -> list[ProgressUpdate]:
        """Remove and return the updates not yet written."""
        with self._mutex:
            updates, self._pending = self._pending, []
        return updates

    @contextmanager
    def closing(self) -> Iterator[list[ProgressUpdate]]:
        """The last unwritten updates, with no flush in flight until the block ends."""
        with self._io:
            yield self.take()
