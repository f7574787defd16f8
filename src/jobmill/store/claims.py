"""Claiming jobs: ready filters and the claim statements, built once per shape.

A claim moves pending rows to running in one statement (the dialect seam
says how candidates are locked) and hands back the locked rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Select,
    Update,
    and_,
    bindparam,
    exists,
    literal_column,
    select,
    union_all,
    update,
)

from jobmill.clock import utcnow
from jobmill.records import JobMetadata
from jobmill.states import JobStatus
from jobmill.store.base import StoreBase, metadata_from_row, metadata_from_tuples
from jobmill.store.dialects import Dialect
from jobmill.store.hot import driver_statement
from jobmill.store.schema import job_dependencies, jobs

# The hot path's statements are built once per shape, with bound parameters:
# building and cache-keying a statement on every call cost more than running it.

_parent = jobs.alias("parent")
# Statuses are written into the SQL, not bound: a database uses a partial
# index (``WHERE status = 'pending'``) only for a query that says so itself.
_PENDING: ColumnElement[str] = literal_column(f"'{JobStatus.PENDING.value}'")
_COMPLETED: ColumnElement[str] = literal_column(f"'{JobStatus.COMPLETED.value}'")


@cache
def ready_filter(
    dialect: Dialect, source: FromClause, by_queue: bool, by_name: bool
) -> ColumnElement[bool]:
    """Rows of ``source`` (the jobs table or an alias) that are pending, due
    (``:now``), with dependencies done, in ``:queues``, of ``:job_names``."""
    conditions = [source.c.status == _PENDING, source.c.run_at <= bindparam("now")]
    if by_queue:
        conditions.append(dialect.any_of(source.c.queue, "queues"))
    if by_name:
        conditions.append(dialect.any_of(source.c.job_name, "job_names"))
    conditions.append(_dependencies_done(source))
    return and_(*conditions)


def _dependencies_done(source: FromClause) -> ColumnElement[bool]:
    return ~exists().where(
        job_dependencies.c.job_id == source.c.id,
        _parent.c.id == job_dependencies.c.depends_on_id,
        _parent.c.status != _COMPLETED,
    )


def _ready_params(
    dialect: Dialect, now: datetime, queues: Sequence[str] | None, job_names: Sequence[str] | None
) -> dict[str, Any]:
    params: dict[str, Any] = {"now": now}
    if job_names is not None:
        params["job_names"] = dialect.texts_param(job_names)
    if queues:
        params["queues"] = dialect.texts_param(queues)
    for index, queue in enumerate(queues or ()):
        params[f"queue_{index}"] = queue
    return params


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
def _ready_look(dialect: Dialect, by_queue: bool, by_name: bool) -> Select[Any]:
    source = dialect.claim_source("ix_jobs_claim_order")
    return select(source.c.id).where(ready_filter(dialect, source, by_queue, by_name)).limit(1)


def _candidates(dialect: Dialect, queue: int | None, by_name: bool) -> Select[Any]:
    """The best ready rows, read in the order of a claim index so that no plan
    sorts the backlog: the queue's index for one queue, else the global one."""
    index = "ix_jobs_claim_order" if queue is None else "ix_jobs_claim"
    source = dialect.claim_source(index)
    where = ready_filter(dialect, source, False, by_name)
    if queue is not None:
        where = and_(where, source.c.queue == bindparam(f"queue_{queue}"))
    order = (source.c.priority.desc(), source.c.run_at, source.c.id)
    return (
        select(source.c.id, source.c.priority, source.c.run_at)
        .where(where)
        .order_by(*order)
        .limit(bindparam("limit"))
    )


@cache
def claim_statement(dialect: Dialect, queues: int, by_name: bool) -> Update:
    """Moves up to ``:limit`` ready jobs, of ``queues`` queues (0: all) and of
    ``:job_names`` (if ``by_name``), to running; returns their rows."""
    # A worker serving several queues reads each queue's index up to the
    # limit and takes the best of those: each read stays bounded by the limit
    # however many jobs wait, where one scan over all the queues would not be.
    selects = (
        [_candidates(dialect, None, by_name)]
        if not queues
        else [_candidates(dialect, queue, by_name) for queue in range(queues)]
    )
    parts = [dialect.lock_candidates(each, f"claimable_{n}") for n, each in enumerate(selects)]
    if len(parts) == 1:
        picked = select(parts[0].c.id)
    else:
        merged = union_all(*(select(p.c.id, p.c.priority, p.c.run_at) for p in parts)).subquery()
        picked = (
            select(merged.c.id)
            .order_by(merged.c.priority.desc(), merged.c.run_at, merged.c.id)
            .limit(bindparam("limit"))
        )
    return (
        update(jobs)
        .where(jobs.c.id.in_(picked.scalar_subquery()))
        .values(_RUNNING_VALUES)
        .returning(*jobs.c)
    )


# One specific pending job (``execute_from_database``, ``inline``).
_CLAIM_ONE = (
    update(jobs)
    .where(
        jobs.c.id == bindparam("job_id"),
        jobs.c.status == JobStatus.PENDING,
        _dependencies_done(jobs),
    )
    .values(_RUNNING_VALUES)
    .returning(*jobs.c)
)


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """A claim of up to ``limit`` ready jobs for ``worker_id``, locked for
    ``lock_timeout`` seconds, of ``queues`` (None: all) and ``job_names``
    (None: any)."""

    worker_id: str
    limit: int
    lock_timeout: float
    queues: Sequence[str] | None = None
    job_names: Sequence[str] | None = None

    def statement(self, dialect: Dialect) -> Update:
        return claim_statement(dialect, len(self.queues or ()), self.job_names is not None)

    def params(self, dialect: Dialect, now: datetime) -> dict[str, Any]:
        params = _ready_params(dialect, now, self.queues, self.job_names)
        params.update(
            limit=self.limit,
            worker_id=self.worker_id,
            locked_until=now + timedelta(seconds=self.lock_timeout),
        )
        return params


def claim_ready(
    conn: Connection, dialect: Dialect, request: ClaimRequest, now: datetime
) -> list[JobMetadata]:
    """``claim_jobs`` on the caller's write transaction ``conn`` (so a writer can
    record outcomes and claim the next jobs in one commit), which began with
    ``dialect.steer_planner``. Run on the driver (``store.hot``)."""
    statement = driver_statement(request.statement(dialect), conn.dialect)
    names, rows = statement.run(conn, request.params(dialect, now))
    return in_claim_order(metadata_from_tuples(names, rows))


def in_claim_order(claimed: list[JobMetadata]) -> list[JobMetadata]:
    """Claimed jobs, best first (RETURNING keeps no order)."""
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
        params = _ready_params(self.dialect, now or utcnow(), queues, job_names)
        stmt = _ready_look(self.dialect, bool(queues), job_names is not None)
        with self.read() as conn:
            found = conn.execute(stmt, params).first()
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
        request = ClaimRequest(worker_id, limit, lock_timeout, queues, job_names)
        with self.write() as conn:
            self.dialect.steer_planner(conn)
            return claim_ready(conn, self.dialect, request, now)

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
