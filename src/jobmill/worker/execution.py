"""The worker's ``Runner``: the same attempt path as everywhere, made to ride out
database errors so that a locked or briefly lost database costs no job."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from jobmill.context import AttemptContext
from jobmill.outcomes import Outcome
from jobmill.records import JobMetadata
from jobmill.runner import Runner
from jobmill.worker.errors import ErrorStreak, is_transient

logger = logging.getLogger("jobmill.worker")


class WorkerRunner(Runner):
    """Retries writing an attempt's outcome while its lock may still be ours."""

    settles_abandoned = False  # shutdown releases attempts before cancelling them

    def record_outcome(
        self, context: AttemptContext, outcome: Outcome, now: datetime
    ) -> JobMetadata | None:
        record = context.record
        streak = ErrorStreak(f"recording the outcome of {record.job_name} {record.id}", logger)
        while True:
            try:
                final = super().record_outcome(context, outcome, now)
            except Exception as exc:
                # Once the lock is known lost the write would be fenced out anyway.
                if not is_transient(exc) or context.lock_lost:
                    raise
                time.sleep(streak.failed(exc))
            else:
                streak.succeeded()
                return final
