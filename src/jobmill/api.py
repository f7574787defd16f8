"""Module-level operations: look up, inspect, retry, cancel and chain jobs."""

from __future__ import annotations

import getpass
import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING

from jobmill.events import EventKind
from jobmill.history import merge_history
from jobmill.records import JobEvent, JobMetadata
from jobmill.runtime import get_store
from jobmill.store import NewJob

if TYPE_CHECKING:
    from jobmill.dispatch import JobStep


def operator_source(channel: str) -> str:
    """Who/where an operator action came from, e.g. ``cli:alice@host``."""
    try:
        user = getpass.getuser()
    except OSError:
        user = "unknown"
    return f"{channel}:{user}@{socket.gethostname()}"


def get(id_or_prefix: str) -> JobMetadata:
    """The job with this id or unique id prefix (``JobNotFound``, ``AmbiguousJobId``)."""
    return get_store().get_job(id_or_prefix)


def history(job_id: str) -> list[JobEvent]:
    """Every event of a job, oldest first: enqueued, started, progress, errors, ..."""
    store = get_store()
    record = store.get_job(job_id)
    return merge_history(record, store.stored_events(record.id))


def retry(job_id: str, *, source: str | None = None) -> JobMetadata:
    """Bring a failed or cancelled job back to pending with a fresh allowance of attempts.

    The allowance is the job's own (``max_attempts`` as it was enqueued, with
    ``set(max_attempts=...)`` honoured), counted from the attempts it has had.
    """
    store = get_store()
    record = store.get_job(job_id)
    earlier = [
        e.attempt or 0 for e in store.stored_events(record.id) if e.kind is EventKind.RETRIED
    ]
    allowance = record.max_attempts - max(earlier, default=0)
    return store.retry_job(record.id, max(1, allowance), source or operator_source("api"))


def cancel(job_id: str, *, source: str | None = None) -> JobMetadata:
    """Cancel a pending job, or ask a running one to stop; dependents end cancelled."""
    store = get_store()
    record = store.get_job(job_id)
    return store.cancel_job(record.id, source or operator_source("api"))


def chain(*steps: JobStep) -> list[str]:
    """Enqueue steps in one transaction, each depending on the previous; returns ids.

    ``jobmill.chain(Fetch.step(url=u), Parse.step(), Store.step())``
    """
    if not steps:
        raise ValueError("chain needs at least one step")
    new_jobs: list[NewJob] = []
    previous: Sequence[str] = ()
    for step in steps:
        built = step.dispatch.set(depends_on=previous).build(step.params, step.kwargs)
        new_jobs.append(built)
        previous = [built.id]
    connection = steps[0].dispatch.options.connection
    return get_store().enqueue(new_jobs, connection=connection)
