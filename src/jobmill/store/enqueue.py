"""Storing new jobs: plain rows on the driver (``store/inserts.py``), unique
keys, dependencies, wake-ups; and the two rows that start elsewhere than
pending (``start_job``, ``skip_job``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import Connection, insert, select

from jobmill.clock import utcnow
from jobmill.records import JobMetadata
from jobmill.states import JobStatus
from jobmill.store.base import StoreBase, metadata_from_row
from jobmill.store.cascade import cancel_dependents
from jobmill.store.inserts import NewRows
from jobmill.store.schema import job_dependencies, jobs

_INSERT_RETURNING = insert(jobs).returning(*jobs.c)


@dataclass(frozen=True, slots=True)
class NewJobs:
    """Validated jobs of one class and one set of options (one dispatch), ready
    to be stored: ``ids[i]`` and ``params[i]`` are a job's id and its params as
    JSON text (None: no params, stored as NULL)."""

    job_name: str
    queue: str
    priority: int
    max_attempts: int
    timeout: float | None
    ids: Sequence[str]
    params: Sequence[str | None]
    run_at: datetime | None = None
    unique_key: str | None = None
    depends_on: tuple[str, ...] = ()
    cron_job_id: int | None = None
    enqueued_at: datetime | None = None

    @property
    def id(self) -> str:
        """The id of its one job (``later``, a step of a chain, a cron tick)."""
        [job_id] = self.ids
        return job_id

    def rows(self, bind_time: Callable[[datetime], Any], now: datetime) -> NewRows:
        """The pending rows to insert, their times bound by ``bind_time``."""
        stamp = bind_time(now)
        shared = (
            self.job_name,
            self.queue,
            JobStatus.PENDING.value,
            self.priority,
            self.max_attempts,
            self.timeout,
            self.unique_key,
            stamp if self.run_at is None else bind_time(self.run_at),
            stamp if self.enqueued_at is None else bind_time(self.enqueued_at),
            stamp,
            self.cron_job_id,
        )
        return NewRows(self.ids, self.params, shared)

    def row(self, now: datetime) -> dict[str, Any]:
        """The pending row of its one job, for SQLAlchemy."""
        [job_id], [params] = self.ids, self.params
        return {
            "id": job_id,
            "job_name": self.job_name,
            "queue": self.queue,
            "status": JobStatus.PENDING.value,
            "priority": self.priority,
            "params": None if params is None else json.loads(params),
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
        new_jobs: Sequence[NewJobs],
        connection: Connection | None = None,
        now: datetime | None = None,
    ) -> list[str]:
        """Store ``new_jobs`` in one transaction; returns their ids in order.

        A job whose ``unique_key`` matches an active job of the same name is not
        inserted: that job's id is returned in its place.
        """
        new_jobs = [batch for batch in new_jobs if batch.ids]
        if not new_jobs:
            return []
        now = now or utcnow()
        queues = {batch.queue for batch in new_jobs}
        if any(batch.unique_key is not None or batch.depends_on for batch in new_jobs):
            with self.write(connection) as conn:
                ids = self._insert_checked(conn, new_jobs, now)
                self.dialect.notify(conn, queues)
        else:
            ids = self._insert_plain(new_jobs, connection, now, queues)
        if connection is None:
            self.wake_listeners(queues)
        return ids

    def start_job(
        self, new_job: NewJobs, worker_id: str, lock_timeout: float, now: datetime | None = None
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

    def skip_job(self, new_job: NewJobs, reason: str, now: datetime | None = None) -> JobMetadata:
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

    @cached_property
    def _bind_time(self) -> Callable[[datetime], Any]:
        # A timestamp as SQLAlchemy hands it to the driver (SQLite: text that
        # sorts in time order), bound once per dispatch.
        dialect = self.engine.dialect
        bind = jobs.c.run_at.type.dialect_impl(dialect).bind_processor(dialect)
        assert bind is not None
        return bind

    def _insert_plain(
        self,
        new_jobs: Sequence[NewJobs],
        connection: Connection | None,
        now: datetime,
        queues: set[str],
    ) -> list[str]:
        batches = [batch.rows(self._bind_time, now) for batch in new_jobs]
        if connection is None:
            with self.dialect.write_gate(), self.driver.connection() as dbapi_connection:
                self.dialect.insert_new_rows(self.engine, dbapi_connection, batches, queues)
        else:
            rows = [row for batch in batches for row in batch.tuples()]
            connection.exec_driver_sql(self.dialect.statements.insert, rows)
            self.dialect.notify(connection, queues)
        return [job_id for batch in new_jobs for job_id in batch.ids]

    def _insert_checked(
        self, conn: Connection, new_jobs: Sequence[NewJobs], now: datetime
    ) -> list[str]:
        # Jobs with a unique key or dependencies: what is stored depends on
        # what the transaction reads.
        self._check_dependencies_exist(conn, new_jobs)
        insert_plain = self.dialect.statements.insert
        ids: list[str] = []
        for batch in new_jobs:
            rows = list(batch.rows(self._bind_time, now).tuples())
            if batch.unique_key is None:
                conn.exec_driver_sql(insert_plain, rows)
                ids.extend(batch.ids)
            else:
                ids.extend(self._insert_unique(conn, row, batch) for row in rows)
        own = [(batch, job_id) for batch in new_jobs for job_id in batch.ids]
        stored = {job_id: actual for (_, job_id), actual in zip(own, ids, strict=True)}
        links = [
            {"job_id": job_id, "depends_on_id": stored.get(parent, parent)}
            for batch, job_id in own
            if stored[job_id] == job_id
            for parent in dict.fromkeys(batch.depends_on)
        ]
        if links:
            conn.execute(insert(job_dependencies), links)
            self._cancel_if_dependencies_dead(conn, {link["depends_on_id"] for link in links}, now)
        return ids

    def _insert_unique(self, conn: Connection, row: tuple[Any, ...], batch: NewJobs) -> str:
        # Insert-or-ignore against the partial unique index, then read back the
        # holder; loop in case the holder finished in between.
        statements = self.dialect.statements
        while True:
            inserted = conn.exec_driver_sql(statements.insert_unique, row).scalar()
            if inserted is not None:
                return str(inserted)
            holder = conn.exec_driver_sql(
                statements.unique_holder, (batch.job_name, batch.unique_key)
            ).scalar()
            if holder is not None:
                return str(holder)

    @staticmethod
    def _check_dependencies_exist(conn: Connection, new_jobs: Sequence[NewJobs]) -> None:
        wanted = {parent for batch in new_jobs for parent in batch.depends_on}
        wanted -= {job_id for batch in new_jobs for job_id in batch.ids}
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
