"""Frozen records returned at the storage boundary: job metadata, events, results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, computed_field

from jobmill.events import EventKind
from jobmill.states import JobStatus

R = TypeVar("R")


class JobMetadata(BaseModel):
    """Everything stored about one job. Datetimes are aware UTC."""

    model_config = ConfigDict(frozen=True)

    id: str
    job_name: str
    queue: str
    # A status this jobmill does not know (a newer version's, or written by
    # hand) stays the stored text, so the row can still be listed and shown.
    status: Annotated[JobStatus | str, Field(union_mode="left_to_right")]
    priority: int
    params: Any = None
    result: Any = None
    error: str | None = None
    error_traceback: str | None = None
    progress: float = 0
    progress_message: str | None = None
    attempts: int = 0
    max_attempts: int = 1
    timeout: float | None = None
    unique_key: str | None = None
    enqueued_at: datetime
    run_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    worker_id: str | None = None
    locked_until: datetime | None = None
    cron_job_id: int | None = None
    cancel_requested: bool = False
    updated_at: datetime | None = None

    @classmethod
    def from_stored(cls, values: dict[str, Any]) -> JobMetadata:
        """A record of values read from the jobs table, already of their fields'
        types: taken as they are, without validation (workers make one for
        every job they claim, and validating cost more than reading the row)."""
        record = cls.__new__(cls)
        object.__setattr__(record, "__dict__", values)
        # A set of its own: pydantic adds to it (``model_copy(update=...)``).
        object.__setattr__(record, "__pydantic_fields_set__", set(_FIELD_NAMES))
        object.__setattr__(record, "__pydantic_extra__", None)
        object.__setattr__(record, "__pydantic_private__", None)
        return record

    @computed_field  # type: ignore[prop-decorator]
    @property
    def duration(self) -> float | None:
        """Seconds from the last start to completion (or None if not finished)."""
        if self.started_at is None or self.completed_at is None:
            return None
        return (self.completed_at - self.started_at).total_seconds()


class JobEvent(BaseModel):
    """One entry of a job's audit trail (see ``jobmill.history``)."""

    model_config = ConfigDict(frozen=True)

    # A kind this jobmill does not know (a newer version's) stays the stored text.
    kind: Annotated[EventKind | str, Field(union_mode="left_to_right")]
    at: datetime
    attempt: int | None = None
    worker_id: str | None = None
    progress: float | None = None
    message: str | None = None
    error: str | None = None
    traceback: str | None = None
    source: str | None = None


_FIELD_NAMES = frozenset(JobMetadata.model_fields)


@dataclass(frozen=True)
class JobResult(Generic[R]):
    """The outcome of running a job: typed ``data`` on success, ``error`` otherwise."""

    data: R | None
    metadata: JobMetadata
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.metadata.status is JobStatus.COMPLETED
