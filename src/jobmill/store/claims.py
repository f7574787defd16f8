"""Running jobs: claim, fenced writes (progress, heartbeat, finish), rescue, release.

Every write about a running job names the lock it expects: status running,
``locked_by`` the worker, ``attempts`` the attempt. A worker presumed dead that
comes back finds its row changed, its write matches nothing, and its late
result is discarded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Connection, Update, and_, bindparam, exists, select, update

from jobmill.clock import utcnow
from jobmill.records import JobMetadata
from jobmill.states import JobStatus
from jobmill.store.base import StoreBase, metadata_from_row, record_events
from jobmill.store.cascade import cancel_dependents
from jobmill.store.dialects import Dialect
from jobmill.store.schema import job_dependencies, jobs


@dataclass(frozen=True)
class Lock:
    """What fences a running job: its id, the worker holding it, the attempt."""

    job_id: str
    worker_id: str
    attempt: int

    @classmethod
    def of(cls, record: JobMetadata) -> Lock:
        assert record.worker_id is not None
        return cls(record.id, record.worker_id, record.attempts)

    def params(self) -> dict[str, Any]:
        """Values for the ``lock_*`` parameters of ``guarded_update``."""
        return {
            "lock_job_id": self.job_id,
            "lock_worker_id": self.worker_id,
            "lock_attempt": self.attempt,
        }


@dataclass(frozen=True)
class ProgressUpdate:
    percent: float
    message: str | None
    at: datetime


@dataclass(frozen=True)
class Outcome:
    """How an attempt ended. ``status`` pending means "retry at ``retry_at``"."""

    status: JobStatus
    result: Any = None
    error: str | None = None
    traceback: str | None = None
    retry_at: datetime | None = None
    progress: Sequence[ProgressUpdate] = field(default_factory=tuple)


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

_EXTEND_LOCKS = (
    update(jobs)
    .where(
        jobs.c.id.in_(bindparam("job_ids", expanding=True)),
        jobs.c.status == JobStatus.RUNNING,
        jobs.c.locked_by == bindparam("worker_id"),
    )
    .values(locked_until=bindparam("locked_until", type_=jobs.c.locked_until.type))
    .returning(jobs.c.id, jobs.c.cancel_requested)
)


@cache
def guarded_update(columns: tuple[str, ...], returning: bool = False) -> Update:
    """UPDATE of ``columns`` (as ``:new_<column>``) fenced by ``Lock.params()``;
    with ``returning``, it returns the updated row."""
    stmt = (
        update(jobs)
        .where(
            jobs.c.id == bindparam("lock_job_id"),
            jobs.c.status == JobStatus.RUNNING,
            jobs.c.locked_by == bindparam("lock_worker_id"),
            jobs.c.attempts == bindparam("lock_attempt"),
        )
        .values({column: bindparam(f"new_{column}") for column in columns})
    )
    return stmt.returning(*jobs.c) if returning else stmt


def _update_fenced(conn: Connection, lock: Lock, values: dict[str, Any], extra: Any = None) -> int:
    stmt = guarded_update(tuple(sorted(values)))
    if extra is not None:
        stmt = stmt.where(extra)
    return int(conn.execute(stmt, _fenced_params(lock, values)).rowcount)


def _fenced_params(lock: Lock, values: dict[str, Any]) -> dict[str, Any]:
    return {**lock.params(), **{f"new_{column}": value for column, value in values.items()}}


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
        _, params = _ready_params(now, queues, job_names)
        stmt = _claim_statement(self.dialect, bool(queues), job_names is not None)
        params.update(
            limit=limit,
            worker_id=worker_id,
            locked_until=now + timedelta(seconds=lock_timeout),
        )
        with self.write() as conn:
            rows = conn.execute(stmt, params).all()
        claimed = [metadata_from_row(row) for row in rows]
        claimed.sort(key=lambda job: (-job.priority, job.run_at, job.id))
        return claimed

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

    def record_progress(self, lock: Lock, updates: Sequence[ProgressUpdate]) -> bool:
        """Persist progress updates (latest on the row, all as events); False if fenced out."""
        if not updates:
            return True
        last = updates[-1]
        values = {"progress": last.percent, "progress_message": last.message, "updated_at": last.at}
        with self.write() as conn:
            changed = _update_fenced(conn, lock, values)
            if changed:
                record_events(conn, _progress_events(lock, updates))
        return bool(changed)

    def heartbeat(
        self,
        worker_id: str,
        job_ids: Sequence[str],
        lock_timeout: float,
        now: datetime | None = None,
    ) -> dict[str, bool]:
        """Extend the locks this worker holds; returns {job_id: cancel_requested}.

        Jobs missing from the answer are no longer this worker's.
        """
        if not job_ids:
            return {}
        now = now or utcnow()
        params = {
            "job_ids": list(job_ids),
            "worker_id": worker_id,
            "locked_until": now + timedelta(seconds=lock_timeout),
        }
        with self.write() as conn:
            rows = conn.execute(_EXTEND_LOCKS, params).all()
        return {row.id: bool(row.cancel_requested) for row in rows}

    def finish_attempt(
        self, lock: Lock, started_at: datetime | None, outcome: Outcome, now: datetime | None = None
    ) -> JobMetadata | None:
        """Record how an attempt ended; the job as it now stands, or None
        (nothing written) if fenced out."""
        now = now or utcnow()
        values = _outcome_values(outcome, now)
        stmt = guarded_update(tuple(sorted(values)), returning=True)
        with self.write() as conn:
            row = conn.execute(stmt, _fenced_params(lock, values)).first()
            if row is None:
                return None
            events = _progress_events(lock, outcome.progress)
            if outcome.status is not JobStatus.COMPLETED:
                events += _attempt_end_events(lock, started_at, outcome, now)
            record_events(conn, events)
            if outcome.status in (JobStatus.FAILED, JobStatus.CANCELLED):
                cancel_dependents(conn, lock.job_id, now)
        return metadata_from_row(row)

    def has_expired_locks(self, now: datetime | None = None) -> bool:
        """A cheap read to decide whether ``rescue_expired`` (a write) is worth running."""
        stmt = select(jobs.c.id).where(
            jobs.c.status == JobStatus.RUNNING, jobs.c.locked_until < (now or utcnow())
        )
        with self.read() as conn:
            return conn.execute(stmt.limit(1)).first() is not None

    def rescue_expired(self, now: datetime | None = None, limit: int = 100) -> list[str]:
        """Running jobs whose lock expired go back to pending (or failed when out
        of attempts, so a job that kills its worker cannot loop forever)."""
        now = now or utcnow()
        rescued: list[str] = []
        with self.write() as conn:
            rows = conn.execute(
                select(jobs)
                .where(jobs.c.status == JobStatus.RUNNING, jobs.c.locked_until < now)
                .limit(limit)
            ).all()
            for row in rows:
                record = metadata_from_row(row)
                if self._rescue_one(conn, record, now):
                    rescued.append(record.id)
        return rescued

    def _rescue_one(self, conn: Connection, record: JobMetadata, now: datetime) -> bool:
        lock = Lock.of(record)
        outcome = _rescue_outcome(record, now)
        changed = _update_fenced(
            conn, lock, _outcome_values(outcome, now), extra=jobs.c.locked_until < now
        )
        if not changed:
            return False
        events = _attempt_end_events(lock, record.started_at, outcome, now, kind="lock_expired")
        record_events(conn, events)
        if outcome.status is not JobStatus.PENDING:
            cancel_dependents(conn, record.id, now)
        return True

    def release(self, lock: Lock, now: datetime | None = None) -> bool:
        """Give a running job back to pending without using up an attempt (shutdown).

        A job whose cancellation was requested ends cancelled instead: run
        again, it would only be cancelled at its next heartbeat.
        """
        now = now or utcnow()
        with self.write() as conn:
            if _cancel_on_release(conn, lock, now):
                return True
            values = {
                "status": JobStatus.PENDING,
                "attempts": lock.attempt - 1,
                "locked_by": None,
                "locked_until": None,
                "started_at": None,
                "run_at": now,
                "updated_at": now,
            }
            changed = _update_fenced(conn, lock, values)
            if changed:
                record_events(
                    conn,
                    [
                        {
                            "job_id": lock.job_id,
                            "kind": "released",
                            "at": now,
                            "attempt": lock.attempt,
                            "worker_id": lock.worker_id,
                            "message": "worker shut down before the job finished",
                        }
                    ],
                )
        return bool(changed)


def _cancel_on_release(conn: Connection, lock: Lock, now: datetime) -> bool:
    error = "cancelled: the worker shut down before the job stopped"
    values = _outcome_values(Outcome(JobStatus.CANCELLED, error=error), now)
    if not _update_fenced(conn, lock, values, extra=jobs.c.cancel_requested.is_(True)):
        return False
    event = {
        "job_id": lock.job_id,
        "kind": "cancelled",
        "at": now,
        "attempt": lock.attempt,
        "worker_id": lock.worker_id,
        "error": error,
    }
    record_events(conn, [event])
    cancel_dependents(conn, lock.job_id, now)
    return True


def _rescue_outcome(record: JobMetadata, now: datetime) -> Outcome:
    # A job whose cancellation was requested ends cancelled rather than run
    # again; one out of attempts ends failed.
    error = f"lock expired: worker {record.worker_id} stopped heartbeating"
    if record.cancel_requested:
        return Outcome(JobStatus.CANCELLED, error=error + "; cancellation was requested")
    if record.attempts >= record.max_attempts:
        return Outcome(JobStatus.FAILED, error=error + "; no attempts left")
    return Outcome(JobStatus.PENDING, error=error, retry_at=now)


def _outcome_values(outcome: Outcome, now: datetime) -> dict[str, Any]:
    values: dict[str, Any] = {"status": outcome.status, "updated_at": now, "locked_until": None}
    if outcome.progress:
        values["progress"] = outcome.progress[-1].percent
        values["progress_message"] = outcome.progress[-1].message
    if outcome.status is JobStatus.COMPLETED:
        values.update(result=outcome.result, completed_at=now, progress=100, error=None)
    elif outcome.status is JobStatus.PENDING:
        values.update(
            run_at=outcome.retry_at or now,
            locked_by=None,
            error=outcome.error,
            error_traceback=outcome.traceback,
        )
    else:
        values.update(completed_at=now, error=outcome.error, error_traceback=outcome.traceback)
    return values


def _progress_events(lock: Lock, updates: Sequence[ProgressUpdate]) -> list[dict[str, Any]]:
    return [
        {
            "job_id": lock.job_id,
            "kind": "progress",
            "at": update.at,
            "attempt": lock.attempt,
            "worker_id": lock.worker_id,
            "progress": update.percent,
            "message": update.message,
        }
        for update in updates
    ]


def _attempt_end_events(
    lock: Lock,
    started_at: datetime | None,
    outcome: Outcome,
    now: datetime,
    kind: str | None = None,
) -> list[dict[str, Any]]:
    # The row keeps only the latest attempt, so an attempt that does not
    # complete writes its start and its end to the trail.
    common = {"job_id": lock.job_id, "attempt": lock.attempt, "worker_id": lock.worker_id}
    events = [{**common, "kind": "started", "at": started_at or now}]
    end_kind = (
        kind
        or {
            JobStatus.PENDING: "attempt_failed",
            JobStatus.FAILED: "failed",
            JobStatus.CANCELLED: "cancelled",
        }[outcome.status]
    )
    events.append(
        {
            **common,
            "kind": end_kind,
            "at": now,
            "error": outcome.error,
            "traceback": outcome.traceback,
        }
    )
    if kind and outcome.status is not JobStatus.PENDING:
        events.append({**common, "kind": outcome.status.value, "at": now, "error": outcome.error})
    return events
