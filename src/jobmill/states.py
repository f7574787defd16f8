"""Job states and the transitions between them.

State is a column; every UPDATE that changes it names the state it expects in
its WHERE clause. This table is the single list of allowed moves, checked by
the tests against what the store actually does.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class JobStatus(StrEnum):
    """Where a job is in its life. ``failed`` is terminal: the dead-letter set."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES


FINAL_STATES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})
ACTIVE_STATES = frozenset({JobStatus.PENDING, JobStatus.RUNNING})

# (from, to) -> the store operations that make the move, each an UPDATE that
# names ``from`` in its WHERE clause and checks its row count.
TRANSITIONS: dict[tuple[JobStatus, JobStatus], frozenset[str]] = {
    (JobStatus.PENDING, JobStatus.RUNNING): frozenset({"claim_jobs", "claim_job"}),
    (JobStatus.PENDING, JobStatus.CANCELLED): frozenset({"cancel_job", "cancel_dependents"}),
    (JobStatus.RUNNING, JobStatus.COMPLETED): frozenset({"record_outcomes"}),
    (JobStatus.RUNNING, JobStatus.PENDING): frozenset(
        {"record_outcomes", "rescue_expired", "release"}
    ),
    (JobStatus.RUNNING, JobStatus.FAILED): frozenset({"record_outcomes", "rescue_expired"}),
    (JobStatus.RUNNING, JobStatus.CANCELLED): frozenset(
        {"record_outcomes", "rescue_expired", "release"}
    ),
    (JobStatus.FAILED, JobStatus.CANCELLED): frozenset({"discard_job"}),
    (JobStatus.FAILED, JobStatus.PENDING): frozenset({"retry_job"}),
    (JobStatus.CANCELLED, JobStatus.PENDING): frozenset({"retry_job", "revive_dependents"}),
}

# The state a new row starts in -> the store operations that insert it.
INSERTS: dict[JobStatus, frozenset[str]] = {
    JobStatus.PENDING: frozenset({"enqueue"}),
    JobStatus.RUNNING: frozenset({"start_job"}),  # ``now``: claimed by its caller at once
    JobStatus.CANCELLED: frozenset({"skip_job"}),  # a batch item never started
}


def statuses_to_show(found: Iterable[JobStatus | str]) -> list[JobStatus | str]:
    """Every ``JobStatus`` in order, then the stored statuses jobmill does not know."""
    unknown = sorted({str(status) for status in found} - set(JobStatus))
    return [*JobStatus, *unknown]
