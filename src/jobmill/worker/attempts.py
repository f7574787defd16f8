"""The attempts a worker is running, shared by its claim loop and heartbeat thread."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from jobmill.context import AttemptContext
from jobmill.job import Job
from jobmill.outcomes import Lock
from jobmill.records import JobMetadata


@dataclass(eq=False)
class RunningAttempt:
    """One claimed attempt in flight.

    ``settling`` is set once its outcome is being written (a heartbeat that no
    longer finds it is then expected); ``lock_lost`` once a heartbeat found its
    lock taken over, so whatever it reports will be discarded.
    """

    record: JobMetadata
    job_class: type[Job[Any, Any]]
    context: AttemptContext
    future: asyncio.Future[Any] | None = None
    settling: bool = False
    lock_lost: bool = False
    started: float = field(default_factory=time.monotonic)

    @property
    def lock(self) -> Lock:
        return Lock.of(self.record)


class Attempts:
    """A thread-safe registry of running attempts, keyed by their lock.

    The key includes the attempt number: an attempt whose lock was lost may
    still be running when the same job is claimed again.
    """

    def __init__(self) -> None:
        self._running: dict[Lock, RunningAttempt] = {}
        self._mutex = threading.Lock()

    def add(self, attempt: RunningAttempt) -> None:
        with self._mutex:
            self._running[attempt.lock] = attempt

    def remove(self, attempt: RunningAttempt) -> bool:
        """Forget ``attempt``; False if it was already gone."""
        with self._mutex:
            return self._running.pop(attempt.lock, None) is not None

    def find(self, lock: Lock) -> RunningAttempt | None:
        with self._mutex:
            return self._running.get(lock)

    def snapshot(self) -> list[RunningAttempt]:
        with self._mutex:
            return list(self._running.values())

    def __len__(self) -> int:
        with self._mutex:
            return len(self._running)
