"""Reading jobs: by id or prefix, listings, history, dependencies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, false, func, select

from jobmill.clock import utcnow
from jobmill.errors import AmbiguousJobId, JobNotFound
from jobmill.ids import could_be_job_id, prefix_upper_bound
from jobmill.records import JobEvent, JobMetadata
from jobmill.states import JobStatus
from jobmill.storable import text_problem
from jobmill.store.base import StoreBase, metadata_from_row
from jobmill.store.schema import FINISHED, job_dependencies, job_events, jobs

FULL_ID_LENGTH = 36
CANDIDATES_SHOWN = 10


@dataclass(frozen=True)
class JobFilter:
    """Filters shared by listings (CLI ``list``, the dashboard's Jobs page)."""

    status: JobStatus | None = None
    job_name: str | None = None
    queue: str | None = None
    id_prefix: str | None = None

    def apply(self, stmt: Select[Any]) -> Select[Any]:
        if not self.can_match():
            return stmt.where(false())
        if self.status:
            stmt = stmt.where(jobs.c.status == self.status)
            if self.status.is_final:
                stmt = stmt.where(FINISHED)  # read from the index of finished rows
        if self.job_name:
            stmt = stmt.where(jobs.c.job_name == self.job_name)
        if self.queue:
            stmt = stmt.where(jobs.c.queue == self.queue)
        if self.id_prefix:
            prefix = self.id_prefix.lower()
            stmt = stmt.where(jobs.c.id >= prefix, jobs.c.id < prefix_upper_bound(prefix))
        return stmt

    def can_match(self) -> bool:
        """False when a value is one no stored job can have (not queried, then)."""
        if self.id_prefix and not could_be_job_id(self.id_prefix.lower()):
            return False
        texts = (self.job_name, self.queue)
        return all(text is None or text_problem(text) is None for text in texts)


@dataclass(frozen=True)
class JobState:
    """A job's status, the attempts it has had and its stored result."""

    id: str
    status: str
    attempts: int
    result: Any


class QueryOps(StoreBase):
    def get_job(self, id_or_prefix: str) -> JobMetadata:
        """The job with this id, or the only one whose id starts with it."""
        key = id_or_prefix.strip().lower()
        if not key or not could_be_job_id(key):
            raise JobNotFound(id_or_prefix)
        with self.read() as conn:
            if len(key) == FULL_ID_LENGTH:
                row = conn.execute(select(jobs).where(jobs.c.id == key)).first()
                if row is None:
                    raise JobNotFound(id_or_prefix)
                return metadata_from_row(row)
            rows = conn.execute(
                JobFilter(id_prefix=key)
                .apply(select(jobs))
                .order_by(jobs.c.id)
                .limit(CANDIDATES_SHOWN + 1)
            ).all()
        if not rows:
            raise JobNotFound(id_or_prefix)
        if len(rows) > 1:
            raise AmbiguousJobId(id_or_prefix, [row.id for row in rows])
        return metadata_from_row(rows[0])

    def list_jobs(
        self, filter_: JobFilter | None = None, limit: int = 50, offset: int = 0
    ) -> list[JobMetadata]:
        """Jobs newest first (ids are time-ordered)."""
        stmt = (filter_ or JobFilter()).apply(select(jobs))
        stmt = stmt.order_by(jobs.c.id.desc()).limit(limit).offset(offset)
        with self.read() as conn:
            return [metadata_from_row(row) for row in conn.execute(stmt)]

    def count_jobs(self, filter_: JobFilter | None = None) -> int:
        stmt = (filter_ or JobFilter()).apply(select(func.count()).select_from(jobs))
        with self.read() as conn:
            return int(conn.execute(stmt).scalar_one())

    def stored_events(self, job_id: str) -> list[JobEvent]:
        """The events written to ``job_events`` for one job, oldest first."""
        stmt = select(job_events).where(job_events.c.job_id == job_id).order_by(job_events.c.id)
        with self.read() as conn:
            return [
                JobEvent.model_validate(
                    {k: v for k, v in row._mapping.items() if k not in ("id", "job_id")}
                )
                for row in conn.execute(stmt)
            ]

    def dependency_ids(self, job_id: str) -> list[str]:
        stmt = select(job_dependencies.c.depends_on_id).where(job_dependencies.c.job_id == job_id)
        with self.read() as conn:
            return sorted(conn.execute(stmt).scalars())

    def dependent_ids(self, job_id: str) -> list[str]:
        stmt = select(job_dependencies.c.job_id).where(job_dependencies.c.depends_on_id == job_id)
        with self.read() as conn:
            return sorted(conn.execute(stmt).scalars())

    def dependency_results(self, job_id: str) -> dict[str, Any]:
        """Stored results of the jobs ``job_id`` depends on, by id."""
        stmt = (
            select(jobs.c.id, jobs.c.result)
            .join(job_dependencies, job_dependencies.c.depends_on_id == jobs.c.id)
            .where(job_dependencies.c.job_id == job_id)
        )
        with self.read() as conn:
            return {row.id: row.result for row in conn.execute(stmt)}

    def list_scheduled_jobs(
        self, limit: int = 50, offset: int = 0, now: datetime | None = None
    ) -> list[JobMetadata]:
        """Pending jobs whose ``run_at`` is in the future, soonest first."""
        stmt = (
            select(jobs)
            .where(jobs.c.status == JobStatus.PENDING, jobs.c.run_at > (now or utcnow()))
            .order_by(jobs.c.run_at, jobs.c.id)
            .limit(limit)
            .offset(offset)
        )
        with self.read() as conn:
            return [metadata_from_row(row) for row in conn.execute(stmt)]

    def jobs_by_ids(self, ids: Sequence[str]) -> list[JobMetadata]:
        with self.read() as conn:
            rows = conn.execute(select(jobs).where(jobs.c.id.in_(ids))).all()
        by_id = {row.id: metadata_from_row(row) for row in rows}
        return [by_id[job_id] for job_id in ids if job_id in by_id]

    def queue_states(self, queue: str) -> list[JobState]:
        """The state of every job in ``queue``, oldest first (the self-test's tally)."""
        stmt = (
            select(jobs.c.id, jobs.c.status, jobs.c.attempts, jobs.c.result)
            .where(jobs.c.queue == queue)
            .order_by(jobs.c.id)
        )
        with self.read() as conn:
            return [JobState(*row) for row in conn.execute(stmt)]
