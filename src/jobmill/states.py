"""Job states and the transitions between them.

State is a column; every UPDATE that changes it names the state it expects in
its WHERE clause. This table is the single list of allowed moves, checked by
the tests against what the store actually does.
"""

from __future__ import annotations

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

# (from, to) -> the operation that makes the move.
TRANSITIONS: dict[tuple[JobStatus, JobStatus], str] = {
    (JobStatus.PENDING, JobStatus.RUNNING): "claim",
    (JobStatus.PENDING, JobStatus.CANCELLED): "cancel",
    (JobStatus.RUNNING, JobStatus.COMPLETED): "complete",
    (JobStatus.RUNNING, JobStatus.PENDING): "retry later / rescue / release",
    (JobStatus.RUNNING, JobStatus.FAILED): "fail",
    (JobStatus.RUNNING, JobStatus.CANCELLED): "cancel running",
    (JobStatus.FAILED, JobStatus.CANCELLED): "discard",
    (JobStatus.FAILED, JobStatus.PENDING): "manual retry",
    (JobStatus.CANCELLED, JobStatus.PENDING): "manual retry",
}


def can_move(current: JobStatus, target: JobStatus) -> bool:
    """Whether ``current -> target`` is an allowed transition."""
    return (current, target) in TRANSITIONS
