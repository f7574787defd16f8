"""Dependents of a job that failed or was cancelled end cancelled, transitively;
a manual retry of that job brings them back.

Each job cancelled this way records the dependency that took it down in
``jobs.cancelled_by``: a retry of that dependency finds its dependents by it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, exists, select, update

from jobmill.events import EventKind
from jobmill.states import JobStatus
from jobmill.store.base import record_events
from jobmill.store.schema import job_dependencies, jobs

_DEAD = (JobStatus.FAILED, JobStatus.CANCELLED)


def cancel_dependents(connection: Connection, job_id: str, now: datetime) -> list[str]:
    """Cancel every pending job that (transitively) depends on ``job_id``."""
    cancelled: list[str] = []
    frontier = [job_id]
    while frontier:
        parent = frontier.pop()
        parent_status = connection.execute(
            select(jobs.c.status).where(jobs.c.id == parent)
        ).scalar_one()
        reason = f"dependency {parent} ended {parent_status}"
        children = connection.execute(
            select(jobs.c.id, jobs.c.attempts)
            .join(job_dependencies, job_dependencies.c.job_id == jobs.c.id)
            .where(
                job_dependencies.c.depends_on_id == parent,
                jobs.c.status == JobStatus.PENDING,
            )
        ).all()
        for child_id, attempts in children:
            done = connection.execute(
                update(jobs)
                .where(jobs.c.id == child_id, jobs.c.status == JobStatus.PENDING)
                .values(
                    status=JobStatus.CANCELLED,
                    error=reason,
                    cancelled_by=parent,
                    completed_at=now,
                    updated_at=now,
                )
            ).rowcount
            if done:
                _record(connection, child_id, attempts, EventKind.CANCELLED, now, reason, parent)
                cancelled.append(child_id)
                frontier.append(child_id)
    return cancelled


def revive_dependents(connection: Connection, job_id: str, now: datetime) -> list[str]:
    """Back to pending: the jobs that ``cancel_dependents`` cancelled because of
    ``job_id`` (transitively), unless another of their dependencies is dead too."""
    revived: list[str] = []
    frontier = [job_id]
    other = jobs.alias("other")
    while frontier:
        parent = frontier.pop()
        children = connection.execute(
            select(jobs.c.id, jobs.c.attempts)
            .join(job_dependencies, job_dependencies.c.job_id == jobs.c.id)
            .where(
                job_dependencies.c.depends_on_id == parent,
                jobs.c.status == JobStatus.CANCELLED,
                jobs.c.cancelled_by == parent,
            )
        ).all()
        for child_id, attempts in children:
            other_dead = exists().where(
                job_dependencies.c.job_id == child_id,
                other.c.id == job_dependencies.c.depends_on_id,
                other.c.status.in_(_DEAD),
            )
            done = connection.execute(
                update(jobs)
                .where(jobs.c.id == child_id, jobs.c.status == JobStatus.CANCELLED, ~other_dead)
                .values(
                    status=JobStatus.PENDING,
                    error=None,
                    cancelled_by=None,
                    completed_at=None,
                    updated_at=now,
                )
            ).rowcount
            if done:
                message = f"dependency {parent} was retried"
                _record(connection, child_id, attempts, EventKind.RETRIED, now, message, parent)
                revived.append(child_id)
                frontier.append(child_id)
    return revived


def _record(
    connection: Connection,
    job_id: str,
    attempt: int,
    kind: EventKind,
    now: datetime,
    message: str,
    parent: str,
) -> None:
    event = {"job_id": job_id, "kind": kind, "at": now, "attempt": attempt, "message": message}
    record_events(connection, [{**event, "source": f"dependency:{parent}"}])
