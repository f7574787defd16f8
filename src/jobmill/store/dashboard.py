"""Store operations the dashboard needs beyond the shared ones: discarding a
failed job, the scheduled list in run order, throughput over time, and a
health probe."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text, update

from jobmill.clock import utcnow
from jobmill.errors import JobNotFound, JobStateError
from jobmill.records import JobMetadata
from jobmill.states import JobStatus
from jobmill.store.base import StoreBase, metadata_from_row, record_events
from jobmill.store.schema import jobs


@dataclass(frozen=True)
class ThroughputBucket:
    """Jobs that ended in ``[start, start + step)``."""

    start: datetime
    completed: int = 0
    failed: int = 0


class DashboardOps(StoreBase):
    def discard_job(self, job_id: str, source: str, now: datetime | None = None) -> JobMetadata:
        """Take a failed job out of the dead-letter set: it ends ``cancelled``.

        The row, its error and its history stay; a ``discarded`` event records
        who did it. A discarded job can still be retried like any cancelled one.
        """
        now = now or utcnow()
        with self.write() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
            if row is None:
                raise JobNotFound(job_id)
            changed = conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.status == JobStatus.FAILED)
                .values(status=JobStatus.CANCELLED, updated_at=now)
            ).rowcount
            if not changed:
                raise JobStateError(
                    f"job {job_id} is {row.status}; only failed jobs can be discarded"
                )
            record_events(
                conn,
                [
                    {
                        "job_id": job_id,
                        "kind": "discarded",
                        "at": now,
                        "attempt": row.attempts,
                        "message": row.error,
                        "source": source,
                    }
                ],
            )
            return metadata_from_row(conn.execute(select(jobs).where(jobs.c.id == job_id)).one())

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

    def throughput(
        self, step: timedelta, buckets: int, now: datetime | None = None
    ) -> list[ThroughputBucket]:
        """Completed and failed jobs per ``step`` over the last ``buckets`` steps, oldest first.

        One statement of a count per interval and status: each is a range scan
        of the (status, completed_at) index, so every row is read once and no
        per-row bucketing (nor any dialect's date arithmetic) is needed.
        """
        end = now or utcnow()
        starts = [end - step * (buckets - index) for index in range(buckets)]
        ended = (JobStatus.COMPLETED, JobStatus.FAILED)
        counts = [
            select(func.count())
            .where(
                jobs.c.status == status,
                jobs.c.completed_at >= start,
                jobs.c.completed_at < start + step,
            )
            .scalar_subquery()
            for start in starts
            for status in ended
        ]
        with self.read() as conn:
            row = conn.execute(select(*counts)).one()
        return [
            ThroughputBucket(start, completed=int(row[2 * index]), failed=int(row[2 * index + 1]))
            for index, start in enumerate(starts)
        ]

    def ping(self) -> None:
        """Raise if the database does not answer."""
        with self.read() as conn:
            conn.execute(text("SELECT 1"))
