"""What a running job can see of its own attempt."""

from __future__ import annotations

import asyncio
import logging
import threading
from functools import cached_property
from typing import TYPE_CHECKING, Any

from jobmill.progress import ProgressReporter
from jobmill.records import JobMetadata

if TYPE_CHECKING:
    from jobmill.store import Store


class AttemptContext:
    """One attempt of one job: its record, progress reporter and cancel flag."""

    def __init__(
        self, record: JobMetadata, store: Store | None, reporter: ProgressReporter
    ) -> None:
        self.record = record
        self.store = store
        self.reporter = reporter
        self._cancel = threading.Event()
        self._task: asyncio.Task[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.logger = logging.LoggerAdapter(
            logging.getLogger(f"jobmill.jobs.{record.job_name}"),
            {"job_id": record.id, "job_name": record.job_name, "attempt": record.attempts},
        )

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def attach_task(self, task: asyncio.Task[Any]) -> None:
        self._task = task
        self._loop = task.get_loop()

    def request_cancel(self) -> None:
        """Ask the job to stop: sync code sees the flag, an async task is cancelled."""
        self._cancel.set()
        if self._task is not None and self._loop is not None and not self._task.done():
            self._loop.call_soon_threadsafe(self._task.cancel)

    @cached_property
    def dependency_results(self) -> dict[str, Any]:
        if self.store is None:
            return {}
        return self.store.dependency_results(self.record.id)
