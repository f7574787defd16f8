"""Counts and timings: jobs by queue and status, throughput, duration percentiles.

Read-only and shared by ``jobmill stats`` and the dashboard's overview.
Percentiles are computed in the database (window functions work on SQLite
and PostgreSQL alike) over a time window, so the sort stays bounded however
long the history grows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, func, literal_column, select, union_all

from jobmill.clock import utcnow
from jobmill.states import FINAL_STATES, JobStatus
from jobmill.store.base import StoreBase, known_status
from jobmill.store.schema import FINISHED, jobs

PERCENTILES = (0.5, 0.95, 0.99)


@dataclass(frozen=True)
class DurationStats:
    """Run times of one job's completed runs: seconds from start to completion, to the ms."""

    job_name: str
    count: int
    p50: float
    p95: float
    p99: float
    max: float


@dataclass(frozen=True)
class ThroughputBucket:
    """Jobs that ended in ``[start, start + step)``."""

    start: datetime
    completed: int = 0
    failed: int = 0


class StatsOps(StoreBase):
    def count_jobs_by_queue_and_status(self) -> dict[tuple[str, JobStatus | str], int]:
        """How many jobs each (queue, status) pair holds (a status jobmill does not
        know is counted under its stored text).

        Counted in three parts, each read from an index that holds the queue or
        finds the few rows: pending jobs from the claim index, running ones
        from the index of running jobs, the rest from the index of finished
        rows. No index of (status, queue) is kept up to date on every claim
        and outcome for this count alone.
        """
        pending: ColumnElement[str] = literal_column("'pending'")
        running: ColumnElement[str] = literal_column("'running'")
        parts = [
            select(jobs.c.queue, status, func.count()).where(where).group_by(jobs.c.queue)
            for status, where in (
                (pending, jobs.c.status == pending),
                (running, jobs.c.status == running),
            )
        ]
        parts.append(
            select(jobs.c.queue, jobs.c.status, func.count())
            .where(FINISHED)
            .group_by(jobs.c.status, jobs.c.queue)
        )
        stmt = union_all(*parts)
        with self.read() as conn:
            return {
                (queue, known_status(status)): count for queue, status, count in conn.execute(stmt)
            }

    def count_finished_since(self, since: datetime) -> dict[JobStatus, int]:
        """Jobs that ended (completed, failed, cancelled) at or after ``since``, by status."""
        stmt = (
            select(jobs.c.status, func.count())
            .where(FINISHED, jobs.c.status.in_(FINAL_STATES), jobs.c.completed_at >= since)
            .group_by(jobs.c.status)
        )
        with self.read() as conn:
            counts = {JobStatus(status): count for status, count in conn.execute(stmt)}
        return {status: counts.get(status, 0) for status in sorted(FINAL_STATES)}

    def count_prunable_jobs(
        self, older_than: datetime, statuses: Sequence[JobStatus] = tuple(FINAL_STATES)
    ) -> dict[JobStatus, int]:
        """How many jobs ``prune_jobs(older_than, statuses)`` would delete, by status.

        Finished statuses only, as ``prune_jobs`` takes; each is counted (0 if none).
        """
        wanted = sorted({JobStatus(status) for status in statuses} & FINAL_STATES)
        stmt = (
            select(jobs.c.status, func.count())
            .where(FINISHED, jobs.c.status.in_(wanted), jobs.c.completed_at < older_than)
            .group_by(jobs.c.status)
        )
        with self.read() as conn:
            counts = {JobStatus(status): count for status, count in conn.execute(stmt)}
        return {status: counts.get(status, 0) for status in wanted}

    def job_duration_percentiles(self, since: datetime) -> list[DurationStats]:
        """p50/p95/p99/max run time per job name, over jobs completed since ``since``.

        Nearest-rank percentiles: the smallest duration whose rank is at
        least ``p * count``.
        """
        seconds = self.dialect.seconds_between(jobs.c.started_at, jobs.c.completed_at)
        ranked = (
            select(
                jobs.c.job_name,
                seconds.label("seconds"),
                func.row_number()
                .over(partition_by=jobs.c.job_name, order_by=seconds)
                .label("rank"),
                func.count().over(partition_by=jobs.c.job_name).label("total"),
            )
            .where(
                FINISHED,
                jobs.c.status == JobStatus.COMPLETED,
                jobs.c.completed_at >= since,
                jobs.c.started_at.is_not(None),
            )
            .subquery()
        )
        stmt = (
            select(
                ranked.c.job_name,
                func.max(ranked.c.total),
                *(
                    func.min(case((ranked.c.rank >= p * ranked.c.total, ranked.c.seconds)))
                    for p in PERCENTILES
                ),
                func.max(ranked.c.seconds),
            )
            .group_by(ranked.c.job_name)
            .order_by(ranked.c.job_name)
        )
        with self.read() as conn:
            rows = conn.execute(stmt).all()
        return [
            DurationStats(name, int(count), *(round(max(0.0, float(v)), 3) for v in values))
            for name, count, *values in rows
        ]

    def throughput(
        self, step: timedelta, buckets: int, now: datetime | None = None
    ) -> list[ThroughputBucket]:
        """Completed and failed jobs per ``step`` over the last ``buckets`` steps, oldest first.

        One statement of a count per interval and status: each is a range scan
        of the index of finished rows, so every row is read once and no
        per-row bucketing (nor any dialect's date arithmetic) is needed.
        """
        end = now or utcnow()
        starts = [end - step * (buckets - index) for index in range(buckets)]
        ended = (JobStatus.COMPLETED, JobStatus.FAILED)
        counts = [
            select(func.count())
            .where(
                FINISHED,
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


def is_live(heartbeat_at: datetime, stale_after: float, now: datetime | None = None) -> bool:
    """Whether a worker that last heartbeated at ``heartbeat_at`` counts as alive.

    A worker silent for longer than ``stale_after`` seconds (the lock timeout:
    its jobs' locks have expired by then) is stale: dead, or cut off.
    """
    return (now or utcnow()) - heartbeat_at <= timedelta(seconds=stale_after)
