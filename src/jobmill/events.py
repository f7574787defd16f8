"""The kinds of entry in a job's history (``jobmill.history``, ``job_events.kind``)."""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    """What happened to a job. A ``str`` enum: ``event.kind == "retried"`` holds too.

    ``enqueued``, a completed attempt's ``started`` and ``completed`` are read
    from the job's row; every other kind is a stored event.
    """

    ENQUEUED = "enqueued"
    STARTED = "started"
    PROGRESS = "progress"
    COMPLETED = "completed"
    ATTEMPT_FAILED = "attempt_failed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    CANCEL_REQUESTED = "cancel_requested"
    LOCK_EXPIRED = "lock_expired"
    RELEASED = "released"
    RETRIED = "retried"
    DISCARDED = "discarded"
    CRON = "cron"
    CRON_RUN = "cron_run"
