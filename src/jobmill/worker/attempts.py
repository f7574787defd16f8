"""An attempt a worker runs: what its claim loop and heartbeat share about it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from jobmill.context import AttemptContext
from jobmill.job import Job
from jobmill.outcomes import Lock
from jobmill.records import JobMetadata


@dataclass(eq=False)
class RunningAttempt:
    """One claimed attempt in flight (held by the worker's ``LockKeeper``)."""

    record: JobMetadata
    job_class: type[Job[Any, Any]]
    context: AttemptContext
    task: asyncio.Task[None] | None = None  # an async job's, on the worker's loop
    started: float | None = None  # monotonic time it began running

    @property
    def lock(self) -> Lock:
        return self.context.lock
