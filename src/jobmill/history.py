"""A job's full history: stored events plus the lifecycle times the row holds.

The happy path writes no events (enqueue, start and completion are columns of
the ``jobs`` row); they are derived here so ``history()`` still shows them.
Stored events keep their write order; derived ones are put where they belong.
"""

from __future__ import annotations

from jobmill.events import EventKind
from jobmill.records import JobEvent, JobMetadata
from jobmill.states import JobStatus

# Events an attempt writes while it runs, after its (derived) start.
DURING_ATTEMPT = frozenset({EventKind.PROGRESS, EventKind.CANCEL_REQUESTED})


def merge_history(record: JobMetadata, stored: list[JobEvent]) -> list[JobEvent]:
    """All events of ``record``, oldest first."""
    events = [JobEvent(kind=EventKind.ENQUEUED, at=record.enqueued_at, attempt=0), *stored]
    if _current_start_is_unrecorded(record, stored):
        assert record.started_at is not None
        started = JobEvent(
            kind=EventKind.STARTED,
            at=record.started_at,
            attempt=record.attempts,
            worker_id=record.worker_id,
        )
        position = next(
            (
                i
                for i, e in enumerate(events)
                if e.attempt == record.attempts and e.kind in DURING_ATTEMPT
            ),
            len(events),
        )
        events.insert(position, started)
    if record.status is JobStatus.COMPLETED and record.completed_at is not None:
        events.append(
            JobEvent(
                kind=EventKind.COMPLETED,
                at=record.completed_at,
                attempt=record.attempts,
                worker_id=record.worker_id,
                progress=100,
            )
        )
    return events


def _current_start_is_unrecorded(record: JobMetadata, stored: list[JobEvent]) -> bool:
    if record.started_at is None or record.status not in (JobStatus.RUNNING, JobStatus.COMPLETED):
        return False
    return not any(e.kind is EventKind.STARTED and e.attempt == record.attempts for e in stored)
