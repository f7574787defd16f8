"""Storing new jobs: bulk inserts, unique keys, dependencies, wake-ups; and the
two rows that start elsewhere than pending (``start_job``, ``skip_job``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, insert, select, text

from jobmill.clock import utcnow
from jobmill.records import JobMetadata
from jobmill.states import ACTIVE_STATES, JobStatus
from jobmill.store.base import StoreBase, metadata_from_row
from jobmill.store.cascade import cancel_dependents
from jobmill.store.schema import ACTIVE, job_dependencies, jobs

_INSERT_RETURNING = insert(jobs).returning(*jobs.c)


@dataclass(frozen=True)
class NewJob:
    """A validated job ready to be stored."""

    id: str
    job_name: str
    queue: str
    priority: int
    params: Any
    max_attempts: int
    timeout: float | None
    run_at: datetime | None = None
    unique_key: str | None = None
    depends_on: tuple[str, ...] = ()
    cron_job_id: int | None = None
    enqueued_at: datetime | None = None

    def row(self, now: datetime) -> dict[str, Any]:
        """The pending row to insert."""
        return {
            "id": self.id,
            "job_name": self.job_name,
            "queue": self.queue,
            "status": JobStatus.PENDING.value,
            "priority": self.priority,
            "params": self.params,
            "max_attempts": self.max_attempts,
            "timeout": self.timeout,
            "unique_key": self.unique_key,
            "run_at": self.run_at or now,
            "enqueued_at": self.enqueued_at or now,
            "updated_at": now,
            "cron_job_id": self.cron_job_id,
        }


class EnqueueOps(StoreBase):
    """Enqueue operations. ``enqueue_listeners`` are called with the queues written
    to once each enqueue has committed, so workers in the same process wake at once
    (an enqueue on the caller's connection commits with the caller: its jobs are
    found by polling)."""

    def enqueue(
        self,
        new_jobs: Sequence[NewJob],
        connection: Connection | None = None,
        now: datetime | None = None,
    ) -> list[str]:
        """Store ``new_jobs`` in one transaction; returns their ids in order.

        A job whose ``unique_key`` matches an active job of the same name is not
        inserted: that job's id is returned in its place.
        """
        now = now or utcnow()
        with self.write(connection) as conn:
            self._check_dependencies_exist(conn, new_jobs)
            plain = [job.row(now) for job in new_jobs if job.unique_key is None]
            if plain:
                conn.execute(insert(jobs), plain)
            ids = [
                job.id if job.unique_key is None else self._insert_unique(conn, job, now)
                for job in new_jobs
            ]
            actual = {job.id: job_id for job, job_id in zip(new_jobs, ids, strict=True)}
            links = [
                {"job_id": job_id, "depends_on_id": actual.get(parent, parent)}
                for job, job_id in zip(new_jobs, ids, strict=True)
                if job_id == job.id
                for parent in dict.fromkeys(job.depends_on)
            ]
            if links:
                conn.execute(insert(job_dependencies), links)
                self._cancel_if_dependencies_dead(
                    conn, {link["depends_on_id"] for link in links}, now
                )
            woken = {job.queue for job in new_jobs}
            if woken:
                self.dialect.notify(conn, woken)
        if connection is None:
            self.wake_listeners(woken)
        return ids

    def start_job(
        self, new_job: NewJob, worker_id: str, lock_timeout: float, now: datetime | None = None
    ) -> JobMetadata:
        """Store ``new_job`` already running, claimed by ``worker_id`` for its only
        attempt (``now()``: it runs exactly once, in its caller); returns the row.

        Nothing is woken: a running job is no worker's work.
        """
        now = now or utcnow()
        row = {
            **new_job.row(now),
            "status": JobStatus.RUNNING.value,
            "max_attempts": 1,
            "unique_key": None,
            "attempts": 1,
            "run_at": now,
            "enqueued_at": now,
            "started_at": now,
            "locked_by": worker_id,
            "locked_until": now + timedelta(seconds=lock_timeout),
        }
        with self.write() as conn:
            return metadata_from_row(conn.execute(_INSERT_RETURNING, row).one())

    def skip_job(self, new_job: NewJob, reason: str, now: datetime | None = None) -> JobMetadata:
        """Store ``new_job`` cancelled with ``reason``, never to run (a batch that
        stopped on an error); returns the row."""
        now = now or utcnow()
        row = {
            **new_job.row(now),
            "status": JobStatus.CANCELLED.value,
            "completed_at": now,
            "error": reason,
        }
        with self.write() as conn:
            return metadata_from_row(conn.execute(_INSERT_RETURNING, row).one())

    def wake_listeners(self, queues: set[str]) -> None:
        """Tell this process's workers that jobs in ``queues`` were committed."""
        if queues:
            for listener in self.enqueue_listeners:
                listener(queues)

    def _insert_unique(self, conn: Connection, job: NewJob, now: datetime) -> str:
        # Insert-or-ignore against the partial unique index, then read back the
        # holder; loop in case the holder finished in between.
        stmt = self.dialect.insert_ignoring_conflicts(
            jobs, ["job_name", "unique_key"], text(f"unique_key IS NOT NULL AND {ACTIVE}")
        ).returning(jobs.c.id)
        while True:
            inserted = conn.execute(stmt, job.row(now)).scalar()
            if inserted is not None:
                return str(inserted)
            holder = conn.execute(
                select(jobs.c.id).where(
                    and_(
                        jobs.c.job_name == job.job_name,
                        jobs.c.unique_key == job.unique_key,
                        jobs.c.status.in_(sorted(ACTIVE_STATES)),
                    )
                )
            ).scalar()
            if holder is not None:
                return str(holder)

    @staticmethod
    def _check_dependencies_exist(conn: Connection, new_jobs: Sequence[NewJob]) -> None:
        wanted = {parent for job in new_jobs for parent in job.depends_on}
        wanted -= {job.id for job in new_jobs}
        if not wanted:
            return
        found = set(conn.execute(select(jobs.c.id).where(jobs.c.id.in_(wanted))).scalars())
        missing = sorted(wanted - found)
        if missing:
            raise ValueError(f"depends_on: no job with id {', '.join(missing)}")

    @staticmethod
    def _cancel_if_dependencies_dead(conn: Connection, parents: set[str], now: datetime) -> None:
        dead = conn.execute(
            select(jobs.c.id).where(
                jobs.c.id.in_(parents),
                jobs.c.status.in_([JobStatus.FAILED, JobStatus.CANCELLED]),
            )
        ).scalars()
        for parent in dead:
            cancel_dependents(conn, parent, now)
