"""What a running job can see of its own attempt."""

from __future__ import annotations

import asyncio
import logging
from functools import cached_property
from typing import TYPE_CHECKING, Any

from jobmill.deadline import ThreadDeadline
from jobmill.outcomes import Lock
from jobmill.progress import ProgressReporter
from jobmill.records import JobMetadata

if TYPE_CHECKING:
    from jobmill.store import Store


class AttemptContext:
    """One attempt of one job: its record, progress reporter and cancel flag.

    ``settling`` is set once its outcome is being written (a lock keeper that
    no longer finds its lock is then expected); ``lock_lost`` once its lock
    was found taken over or given back, so whatever it reports is discarded.
    """

    def __init__(
        self,
        record: JobMetadata,
        store: Store | None,
        reporter: ProgressReporter,
        lock: Lock | None = None,
    ) -> None:
        self.record = record
        self.lock = lock or Lock.of(record)  # the lock its writes are fenced by
        self.store = store
        self.reporter = reporter
        self._cancel = False  # set once, from any thread
        self._task: asyncio.Task[Any] | None = None
        self._deadline: ThreadDeadline | None = None
        self.timed_out = False
        self.settling = False
        self.lock_lost = False
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def cancel_requested(self) -> bool:
        return self._cancel

    def attach_task(self, task: asyncio.Task[Any]) -> None:
        self._task = task
        self._loop = task.get_loop()

    def attach_deadline(self, deadline: ThreadDeadline | None) -> None:
        """The deadline of the thread running a sync ``perform`` (None once it returned)."""
        self._deadline = deadline

    def request_cancel(self) -> None:
        """Stop the job: an async task is cancelled; a sync job sees the flag and gets
        ``JobCancelled`` raised in its thread (as promptly as a timeout)."""
        self._cancel = True
        if self._deadline is not None:
            self._deadline.interrupt()
        if self._task is not None and self._loop is not None and not self._task.done():
            self._loop.call_soon_threadsafe(self._task.cancel)

    def mark_timed_out(self) -> None:
        """The timeout ended the attempt (the job sees ``cancel_requested`` too)."""
        self.timed_out = True
        self._cancel = True

    @cached_property
    def logger(self) -> logging.LoggerAdapter[logging.Logger]:
        record = self.record
        return logging.LoggerAdapter(
            logging.getLogger(f"jobmill.jobs.{record.job_name}"),
            {"job_id": record.id, "job_name": record.job_name, "attempt": record.attempts},
        )

    @cached_property
    def dependency_results(self) -> dict[str, Any]:
        if self.store is None:
            return {}
        return self.store.dependency_results(self.record.id)
