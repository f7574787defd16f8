"""An attempt a worker runs: what its claim loop and heartbeat share about it."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
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
    future: asyncio.Future[Any] | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def lock(self) -> Lock:
        return Lock.of(self.record)
