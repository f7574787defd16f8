"""Dependents of a job that failed or was cancelled end cancelled, transitively."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select, update

from jobmill.states import JobStatus
from jobmill.store.base import record_events
from jobmill.store.schema import job_dependencies, jobs


def cancel_dependents(connection: Connection, job_id: str, now: datetime) -> list[str]:
    """Cancel every pending job that (transitively) depends on ``job_id``."""
    cancelled: list[str] = []
    frontier = [job_id]
    while frontier:
        parent = frontier.pop()
        children = connection.execute(
            select(jobs.c.id, jobs.c.attempts)
            .join(job_dependencies, job_dependencies.c.job_id == jobs.c.id)
            .where(
                job_dependencies.c.depends_on_id == parent,
                jobs.c.status == JobStatus.PENDING,
            )
        ).all()
        for child_id, attempts in children:
            parent_status = connection.execute(
                select(jobs.c.status).where(jobs.c.id == parent)
            ).scalar_one()
            reason = f"dependency {parent} ended {parent_status}"
            done = connection.execute(
                update(jobs)
                .where(jobs.c.id == child_id, jobs.c.status == JobStatus.PENDING)
                .values(
                    status=JobStatus.CANCELLED,
                    error=reason,
                    completed_at=now,
                    updated_at=now,
                )
            ).rowcount
            if done:
                record_events(
                    connection,
                    [
                        {
                            "job_id": child_id,
                            "kind": "cancelled",
                            "at": now,
                            "attempt": attempts,
                            "message": reason,
                            "source": f"dependency:{parent}",
                        }
                    ],
                )
                cancelled.append(child_id)
                frontier.append(child_id)
    return cancelled
