"""Operator actions: cancel, retry, discard, prune. Each is recorded with its source."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, select, update

from jobmill.clock import utcnow
from jobmill.errors import JobNotFound, JobStateError
from jobmill.events import EventKind
from jobmill.ids import could_be_job_id
from jobmill.records import JobMetadata
from jobmill.states import FINAL_STATES, JobStatus
from jobmill.store.base import StoreBase, known_status, metadata_from_row, record_events
from jobmill.store.cascade import cancel_dependents, revive_dependents
from jobmill.store.queries import JobFilter
from jobmill.store.schema import FINISHED, job_dependencies, job_events, jobs

RETRYABLE = (JobStatus.FAILED, JobStatus.CANCELLED)


class AdminOps(StoreBase):
    def cancel_job(self, job_id: str, source: str, now: datetime | None = None) -> JobMetadata:
        """Cancel a pending job at once; ask a running one to stop.

        A running job keeps running until its worker sees the request (at its
        next heartbeat) and ends it; it then ends ``cancelled``.
        """
        now = now or utcnow()
        with self.write() as conn:
            row = _current_row(conn, job_id)
            status = known_status(row.status)
            if status is JobStatus.PENDING:
                values = {"status": JobStatus.CANCELLED, "completed_at": now, "error": "cancelled"}
                kind = EventKind.CANCELLED
            elif status is JobStatus.RUNNING:
                values = {"cancel_requested": True}
                kind = EventKind.CANCEL_REQUESTED
            else:
                raise JobStateError(
                    f"job {job_id} is {status}; only pending or running jobs can be cancelled"
                )
            changed = conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.status == status)
                .values(updated_at=now, **values)
            ).rowcount
            if not changed:
                raise JobStateError(f"job {job_id} changed state while being cancelled; try again")
            _record_action(conn, row, kind, now, source)
            if kind is EventKind.CANCELLED:
                cancel_dependents(conn, job_id, now)
            return _read_job(conn, job_id)

    def retry_job(
        self, job_id: str, allowance: int, source: str, now: datetime | None = None
    ) -> JobMetadata:
        """A failed or cancelled job back to pending with ``allowance`` fresh attempts.

        The dependents it took down with it (cancelled because it failed or was
        cancelled) come back to pending too, so a retried chain link resumes
        the chain. Attempt numbers keep counting up, so earlier attempts stay distinct in
        the history and a late write from an old attempt stays fenced out.
        """
        now = now or utcnow()
        with self.write() as conn:
            row = _current_row(conn, job_id)
            if row.status not in RETRYABLE:
                raise JobStateError(
                    f"job {job_id} is {row.status}; only failed or cancelled jobs can be retried"
                )
            _refuse_dead_dependencies(conn, job_id)
            changed = conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.status.in_(RETRYABLE))
                .values(max_attempts=row.attempts + max(1, allowance), **_fresh_values(now))
            ).rowcount
            if not changed:
                raise JobStateError(f"job {job_id} changed state while being retried; try again")
            _record_action(conn, row, EventKind.RETRIED, now, source)
            revive_dependents(conn, job_id, now)
            return _read_job(conn, job_id)

    def discard_job(self, job_id: str, source: str, now: datetime | None = None) -> JobMetadata:
        """Take a failed job out of the dead-letter set: it ends ``cancelled``.

        The row, its error and its history stay; a ``discarded`` event records
        who did it. A discarded job can still be retried like any cancelled one.
        """
        now = now or utcnow()
        with self.write() as conn:
            row = _current_row(conn, job_id)
            changed = conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.status == JobStatus.FAILED)
                .values(status=JobStatus.CANCELLED, updated_at=now)
            ).rowcount
            if not changed:
                raise JobStateError(
                    f"job {job_id} is {row.status}; only failed jobs can be discarded"
                )
            _record_action(conn, row, EventKind.DISCARDED, now, source, message=row.error)
            return _read_job(conn, job_id)

    def failed_job_ids(self, job_name: str | None = None) -> list[str]:
        stmt = JobFilter(status=JobStatus.FAILED, job_name=job_name or None).apply(
            select(jobs.c.id)
        )
        with self.read() as conn:
            return list(conn.execute(stmt.order_by(jobs.c.id)).scalars())

    def prune_jobs(
        self,
        older_than: datetime,
        statuses: Sequence[JobStatus] = tuple(FINAL_STATES),
        batch_size: int = 1000,
    ) -> int:
        """Delete finished jobs completed before ``older_than``; returns how many."""
        wanted = [JobStatus(status) for status in statuses if JobStatus(status) in FINAL_STATES]
        total = 0
        while True:
            with self.write() as conn:
                ids = list(
                    conn.execute(
                        select(jobs.c.id)
                        .where(
                            FINISHED, jobs.c.status.in_(wanted), jobs.c.completed_at < older_than
                        )
                        .limit(batch_size)
                    ).scalars()
                )
                if not ids:
                    return total
                _delete_jobs(conn, ids)
            total += len(ids)

    def delete_queue_jobs(self, queue: str, batch_size: int = 1000) -> int:
        """Delete every job of ``queue`` whatever its status, with its history;
        returns how many. Only for a queue nothing else uses (the self-test's)."""
        total = 0
        while True:
            with self.write() as conn:
                ids = list(
                    conn.execute(
                        select(jobs.c.id).where(jobs.c.queue == queue).limit(batch_size)
                    ).scalars()
                )
                if not ids:
                    return total
                _delete_jobs(conn, ids)
            total += len(ids)


def _delete_jobs(conn: Connection, ids: list[str]) -> None:
    conn.execute(delete(job_events).where(job_events.c.job_id.in_(ids)))
    conn.execute(
        delete(job_dependencies).where(
            job_dependencies.c.job_id.in_(ids) | job_dependencies.c.depends_on_id.in_(ids)
        )
    )
    conn.execute(delete(jobs).where(jobs.c.id.in_(ids)))


def _current_row(conn: Connection, job_id: str) -> Row[Any]:
    if not could_be_job_id(job_id):
        raise JobNotFound(job_id)
    row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
    if row is None:
        raise JobNotFound(job_id)
    return row


def _read_job(conn: Connection, job_id: str) -> JobMetadata:
    return metadata_from_row(conn.execute(select(jobs).where(jobs.c.id == job_id)).one())


def _record_action(
    conn: Connection,
    row: Row[Any],
    kind: EventKind,
    now: datetime,
    source: str,
    message: str | None = None,
) -> None:
    event = {"job_id": row.id, "kind": kind, "at": now, "attempt": row.attempts, "source": source}
    record_events(conn, [{**event, "message": message}])


def _fresh_values(now: datetime) -> dict[str, Any]:
    """A retried job's row: pending now, with nothing left of its last attempt."""
    return {
        "status": JobStatus.PENDING,
        "run_at": now,
        "result": None,
        "error": None,
        "error_traceback": None,
        "progress": 0,
        "progress_message": None,
        "started_at": None,
        "completed_at": None,
        "locked_by": None,
        "locked_until": None,
        "cancel_requested": False,
        "cancelled_by": None,
        "updated_at": now,
    }


def _refuse_dead_dependencies(conn: Connection, job_id: str) -> None:
    # Pending behind a failed or cancelled dependency, it would wait forever.
    dead = conn.execute(
        select(jobs.c.id, jobs.c.status)
        .join(job_dependencies, job_dependencies.c.depends_on_id == jobs.c.id)
        .where(
            job_dependencies.c.job_id == job_id,
            jobs.c.status.in_([JobStatus.FAILED, JobStatus.CANCELLED]),
        )
        .order_by(jobs.c.id)
    ).all()
    if dead:
        listed = ", ".join(f"{row.id} ({row.status})" for row in dead)
        raise JobStateError(
            f"job {job_id} depends on {listed}; retry that first "
            "(the jobs it cancelled come back with it)"
        )
