"""Claiming jobs: ready filters and the claim statements, built once per shape.

A claim moves pending rows to running in one statement (the dialect seam
says how candidates are locked) and hands back the locked rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Connection, Update, and_, bindparam, exists, select, update

from jobmill.clock import utcnow
from jobmill.records import JobMetadata
from jobmill.states import JobStatus
from jobmill.store.base import StoreBase, metadata_from_row
from jobmill.store.dialects import Dialect
from jobmill.store.schema import job_dependencies, jobs

# Built once: making an alias of the wide jobs table costs about a
# millisecond, which every claim and ready check used to pay.
_parent = jobs.alias("parent")
_DEPENDENCIES_DONE = ~exists().where(
    job_dependencies.c.job_id == jobs.c.id,
    _parent.c.id == job_dependencies.c.depends_on_id,
    _parent.c.status != JobStatus.COMPLETED,
)


# The hot path's statements are built once per shape, with bound parameters:
# building and cache-keying a statement on every call cost more than running it.


@cache
def ready_filter(by_queue: bool, by_name: bool) -> ColumnElement[bool]:
    """Pending, due (``:now``), dependencies done, in ``:queues``, of ``:job_names``."""
    conditions = [jobs.c.status == JobStatus.PENDING, jobs.c.run_at <= bindparam("now")]
    if by_queue:
        conditions.append(jobs.c.queue.in_(bindparam("queues", expanding=True)))
    if by_name:
        conditions.append(jobs.c.job_name.in_(bindparam("job_names", expanding=True)))
    conditions.append(_DEPENDENCIES_DONE)
    return and_(*conditions)


def _ready_params(
    now: datetime, queues: Sequence[str] | None, job_names: Sequence[str] | None
) -> tuple[ColumnElement[bool], dict[str, Any]]:
    params: dict[str, Any] = {"now": now}
    if queues:
        params["queues"] = list(queues)
    if job_names is not None:
        params["job_names"] = list(job_names)
    return ready_filter(bool(queues), job_names is not None), params


_RUNNING_VALUES = {
    "status": JobStatus.RUNNING.value,
    "locked_by": bindparam("worker_id"),
    "locked_until": bindparam("locked_until", type_=jobs.c.locked_until.type),
    "attempts": jobs.c.attempts + 1,
    "started_at": bindparam("now"),
    "completed_at": None,
    "updated_at": bindparam("now"),
}


@cache
def _claim_statement(dialect: Dialect, by_queue: bool, by_name: bool) -> Update:
    candidates = (
        select(jobs.c.id)
        .where(ready_filter(by_queue, by_name))
        .order_by(jobs.c.priority.desc(), jobs.c.run_at, jobs.c.id)
        .limit(bindparam("limit"))
    )
    return dialect.claim_statement(candidates, _RUNNING_VALUES)


# One specific pending job (``execute_from_database``, ``inline``).
_CLAIM_ONE = (
    update(jobs)
    .where(jobs.c.id == bindparam("job_id"), jobs.c.status == JobStatus.PENDING, _DEPENDENCIES_DONE)
    .values(_RUNNING_VALUES)
    .returning(*jobs.c)
)


def claim_ready(
    conn: Connection,
    dialect: Dialect,
    worker_id: str,
    limit: int,
    lock_timeout: float,
    queues: Sequence[str] | None,
    job_names: Sequence[str] | None,
    now: datetime,
) -> list[JobMetadata]:
    """``claim_jobs`` on the caller's write transaction ``conn`` (so a writer can
    record outcomes and claim the next jobs in one commit)."""
    _, params = _ready_params(now, queues, job_names)
    stmt = _claim_statement(dialect, bool(queues), job_names is not None)
    params.update(
        limit=limit,
        worker_id=worker_id,
        locked_until=now + timedelta(seconds=lock_timeout),
    )
    claimed = [metadata_from_row(row) for row in conn.execute(stmt, params).all()]
    claimed.sort(key=lambda job: (-job.priority, job.run_at, job.id))
    return claimed


class ClaimOps(StoreBase):
    def has_ready_jobs(
        self,
        queues: Sequence[str] | None = None,
        job_names: Sequence[str] | None = None,
        now: datetime | None = None,
    ) -> bool:
        """A cheap read to decide whether taking the write lock is worth it."""
        filter_, params = _ready_params(now or utcnow(), queues, job_names)
        with self.read() as conn:
            found = conn.execute(select(jobs.c.id).where(filter_).limit(1), params).first()
        return found is not None

    def claim_jobs(
        self,
        worker_id: str,
        limit: int,
        lock_timeout: float,
        queues: Sequence[str] | None = None,
        job_names: Sequence[str] | None = None,
        now: datetime | None = None,
    ) -> list[JobMetadata]:
        """Atomically move up to ``limit`` ready jobs to running, best first."""
        now = now or utcnow()
        with self.write() as conn:
            return claim_ready(
                conn, self.dialect, worker_id, limit, lock_timeout, queues, job_names, now
            )

    def claim_job(
        self, job_id: str, worker_id: str, lock_timeout: float, now: datetime | None = None
    ) -> JobMetadata | None:
        """Claim one specific pending job whose dependencies are done, or None."""
        now = now or utcnow()
        params = {
            "job_id": job_id,
            "worker_id": worker_id,
            "locked_until": now + timedelta(seconds=lock_timeout),
            "now": now,
        }
        with self.write() as conn:
            row = conn.execute(_CLAIM_ONE, params).first()
        return metadata_from_row(row) if row else None
