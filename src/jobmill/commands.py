"""Operator commands and views, shared by the CLI, the dashboard and user code.

Actions (retry, cancel, discard, prune) take a ``source`` saying who acted
(``operator_source("cli")``; by default ``api:user@host``). Retry, cancel and
discard record it in the job's history; prune, which deletes that history,
logs it. Views (a job's detail, the listings) only read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from jobmill.actors import operator_source
from jobmill.clock import as_seconds, utcnow
from jobmill.errors import JobNotFound, JobStateError
from jobmill.events import EventKind
from jobmill.history import merge_history
from jobmill.records import JobEvent, JobMetadata
from jobmill.runtime import get_store
from jobmill.states import FINAL_STATES, JobStatus
from jobmill.store import JobFilter, WorkerInfo

logger = logging.getLogger("jobmill.commands")


@dataclass(frozen=True)
class JobDetail:
    """One job as an operator sees it: the record, its history, its neighbours."""

    job: JobMetadata
    events: list[JobEvent]
    dependencies: list[JobMetadata]
    dependents: list[JobMetadata]


@dataclass(frozen=True)
class BulkRetry:
    """What a bulk retry did: the ids retried, and why each other job was not."""

    retried: tuple[str, ...]
    refused: tuple[str, ...]


# Views -------------------------------------------------------------------


def get(id_or_prefix: str) -> JobMetadata:
    """The job with this id or unique id prefix (``JobNotFound``, ``AmbiguousJobId``)."""
    return get_store().get_job(id_or_prefix)


def history(job_id: str) -> list[JobEvent]:
    """Every event of a job, oldest first: enqueued, started, progress, errors, ..."""
    store = get_store()
    record = store.get_job(job_id)
    return merge_history(record, store.stored_events(record.id))


def job_detail(id_or_prefix: str) -> JobDetail:
    """A job with its history, the jobs it depends on and those that depend on it."""
    store = get_store()
    record = store.get_job(id_or_prefix)
    return JobDetail(
        job=record,
        events=merge_history(record, store.stored_events(record.id)),
        dependencies=store.jobs_by_ids(store.dependency_ids(record.id)),
        dependents=store.jobs_by_ids(store.dependent_ids(record.id)),
    )


def list_jobs(
    filter_: JobFilter | None = None, *, limit: int = 50, offset: int = 0
) -> list[JobMetadata]:
    """Jobs newest first, filtered by status, name, queue or id prefix."""
    return get_store().list_jobs(filter_, limit=limit, offset=offset)


def list_scheduled_jobs(
    *, limit: int = 50, offset: int = 0, now: datetime | None = None
) -> list[JobMetadata]:
    """Pending jobs waiting for their ``run_at``, soonest first."""
    return get_store().list_scheduled_jobs(limit=limit, offset=offset, now=now)


def list_workers() -> list[WorkerInfo]:
    """Registered workers, oldest first, with the jobs each holds."""
    return get_store().list_workers()


# Actions -----------------------------------------------------------------


def retry(job_id: str, *, source: str | None = None) -> JobMetadata:
    """Bring a failed or cancelled job back to pending with a fresh allowance of attempts.

    The allowance is the job's own (``max_attempts`` as it was enqueued, with
    ``set(max_attempts=...)`` honoured), counted from the attempts it has had.
    """
    store = get_store()
    record = store.get_job(job_id)
    events = store.stored_events(record.id)
    retried = [event.attempt or 0 for event in events if event.kind is EventKind.RETRIED]
    allowance = record.max_attempts - max(retried, default=0)
    return store.retry_job(record.id, max(1, allowance), source or operator_source("api"))


def retry_each(ids: Iterable[str], *, source: str | None = None) -> BulkRetry:
    """Retry each job in its own transaction; one no longer retryable (retried,
    discarded or pruned meanwhile) is left out with the reason."""
    source = source or operator_source("api")
    retried: list[str] = []
    refused: list[str] = []
    for job_id in ids:
        try:
            retried.append(retry(job_id, source=source).id)
        except (JobNotFound, JobStateError) as exc:
            refused.append(str(exc))
    return BulkRetry(tuple(retried), tuple(refused))


def retry_failed(
    job_name: str | None = None, *, source: str | None = None, limit: int | None = None
) -> BulkRetry:
    """Retry every failed job (of ``job_name``; at most ``limit``), oldest first."""
    ids = get_store().failed_job_ids(job_name)
    return retry_each(ids if limit is None else ids[:limit], source=source)


def cancel(job_id: str, *, source: str | None = None) -> JobMetadata:
    """Cancel a pending job, or ask a running one to stop; dependents end cancelled."""
    store = get_store()
    record = store.get_job(job_id)
    return store.cancel_job(record.id, source or operator_source("api"))


def discard(job_id: str, *, source: str | None = None) -> JobMetadata:
    """Take a failed job out of the dead-letter set: it ends ``cancelled``, its row,
    error and history kept (``retry`` still brings it back)."""
    store = get_store()
    record = store.get_job(job_id)
    return store.discard_job(record.id, source or operator_source("api"))


def prune(
    older_than: float | timedelta,
    statuses: Sequence[JobStatus | str] | None = None,
    *,
    source: str | None = None,
    now: datetime | None = None,
) -> int:
    """Delete finished jobs (and their history) that ended more than ``older_than``
    (seconds or a timedelta) before ``now``; returns how many. ``statuses``:
    completed, failed or cancelled (default all three). Logged with ``source``.

    ``jobmill.prune(timedelta(days=30), ["completed"])``
    """
    cutoff, wanted = _prune_scope(older_than, statuses, now)
    deleted = get_store().prune_jobs(cutoff, wanted)
    logger.info(
        "pruned %d jobs (%s) finished before %s, by %s",
        deleted,
        ", ".join(wanted),
        cutoff.isoformat(),
        source or operator_source("api"),
    )
    return deleted


def count_prunable(
    older_than: float | timedelta,
    statuses: Sequence[JobStatus | str] | None = None,
    *,
    now: datetime | None = None,
) -> dict[JobStatus, int]:
    """How many jobs ``prune`` would delete, by status (a dry run)."""
    cutoff, wanted = _prune_scope(older_than, statuses, now)
    return get_store().count_prunable_jobs(cutoff, wanted)


def prunable_statuses(statuses: Sequence[JobStatus | str] | None = None) -> list[JobStatus]:
    """``statuses`` checked for ``prune`` (default: every finished status);
    ``ValueError`` naming any that is not finished."""
    wanted = list(dict.fromkeys(JobStatus(status) for status in statuses or sorted(FINAL_STATES)))
    unfinished = [str(status) for status in wanted if status not in FINAL_STATES]
    if unfinished:
        raise ValueError(
            f"{', '.join(unfinished)}: only finished jobs (completed, failed, cancelled) "
            "can be pruned"
        )
    return wanted


def prune_cutoff(older_than: float | timedelta, now: datetime | None = None) -> datetime:
    """The moment ``older_than`` before ``now``: jobs that ended before it are pruned.
    ``ValueError`` if it would be before the year 1."""
    seconds = as_seconds(older_than, "older_than")
    try:
        return (now or utcnow()) - timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError("reaches back before the year 1") from None


def _prune_scope(
    older_than: float | timedelta, statuses: Sequence[JobStatus | str] | None, now: datetime | None
) -> tuple[datetime, list[JobStatus]]:
    return prune_cutoff(older_than, now), prunable_statuses(statuses)
