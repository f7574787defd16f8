"""Writing about running jobs under their lock: progress, heartbeats, outcomes,
rescue of expired locks, release at shutdown.

Every write names the lock it expects: status running, ``locked_by`` the
worker, ``attempts`` the attempt. A worker presumed dead that comes back finds
its row changed, its write matches nothing, and its late result is discarded.
The store decides nothing here: ``jobmill.outcomes`` says how an attempt ends,
and ``apply_outcome`` writes exactly that.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Integer,
    Row,
    Text,
    Update,
    bindparam,
    case,
    literal_column,
    select,
    tuple_,
    update,
)

from jobmill import outcomes
from jobmill.clock import utcnow
from jobmill.events import EventKind
from jobmill.outcomes import Lock, Outcome, ProgressUpdate, Requirement
from jobmill.records import JobMetadata
from jobmill.states import JobStatus
from jobmill.store.base import StoreBase, metadata_from_row, record_events
from jobmill.store.cascade import cancel_dependents
from jobmill.store.dialects import BatchColumns, Dialect
from jobmill.store.schema import jobs

_EXTEND_LOCKS = (
    update(jobs)
    .where(
        tuple_(jobs.c.id, jobs.c.locked_by, jobs.c.attempts).in_(
            bindparam("locks", expanding=True)
        ),
        jobs.c.status == JobStatus.RUNNING,
    )
    .values(locked_until=bindparam("locked_until", type_=jobs.c.locked_until.type))
    .returning(jobs.c.id, jobs.c.locked_by, jobs.c.attempts, jobs.c.cancel_requested)
)

_REQUIREMENTS = {
    Requirement.LOCK_EXPIRED: jobs.c.locked_until
    < bindparam("now", type_=jobs.c.locked_until.type),
    Requirement.CANCEL_REQUESTED: jobs.c.cancel_requested.is_(True),
}


@cache
def guarded_update(
    columns: tuple[str, ...], requires: Requirement | None = None, returning: bool = False
) -> Update:
    """UPDATE of ``columns`` (as ``:new_<column>``) fenced by a lock's ``:lock_*``
    parameters and ``requires``; with ``returning``, it returns the updated row."""
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
    if requires is not None:
        stmt = stmt.where(_REQUIREMENTS[requires])
    return stmt.returning(*jobs.c) if returning else stmt


def fenced_params(lock: Lock, values: dict[str, Any]) -> dict[str, Any]:
    """The parameters of ``guarded_update`` for ``lock`` and the new ``values``."""
    return {
        "lock_job_id": lock.job_id,
        "lock_worker_id": lock.worker_id,
        "lock_attempt": lock.attempt,
        **{f"new_{column}": value for column, value in values.items()},
    }


def apply_outcome(conn: Connection, lock: Lock, outcome: Outcome, now: datetime) -> Row[Any] | None:
    """Write ``outcome`` under ``lock`` on ``conn``: the row, its events, the
    dependents a dead job takes down. The updated row, or None (nothing
    written) if fenced out."""
    values = _outcome_values(lock, outcome, now)
    stmt = guarded_update(tuple(sorted(values)), outcome.requires, returning=True)
    params = fenced_params(lock, values)
    if outcome.requires is Requirement.LOCK_EXPIRED:
        params["now"] = now
    row = conn.execute(stmt, params).first()
    if row is None:
        return None
    record_events(conn, _progress_events(lock, outcome.progress) + _trail(lock, row, outcome, now))
    if outcome.status in (JobStatus.FAILED, JobStatus.CANCELLED):
        cancel_dependents(conn, lock.job_id, now)
    return row


# Completions (most outcomes) are written all in one statement: each row still
# fenced by its own lock, matched to its values by id, worker and attempt.
COMPLETED_COLUMNS: BatchColumns = (
    ("id", Text()),
    ("worker", Text()),
    ("attempt", Integer()),
    ("result", JSON()),
    ("has_message", Boolean()),
    ("message", Text()),
)


# The status compared as an expression no index holds, so that a batch's rows
# are found by id: without statistics, PostgreSQL joined the batch with the
# partial index of running jobs instead, visiting every entry of it (dead
# ones of jobs finished since the last vacuum too) for each row of the batch.
_RUNNING_BY_ID = jobs.c.status.op("||")(literal_column("''")) == literal_column("'running'")


@cache
def complete_all_statement(dialect: Dialect) -> Update:
    """Completes the rows of ``dialect.batch_source(COMPLETED_COLUMNS)`` whose
    lock is still held; returns (id, attempts) of those written."""
    v = dialect.batch_source(COMPLETED_COLUMNS)
    return (
        update(jobs)
        .where(
            jobs.c.id == v.c.id,
            _RUNNING_BY_ID,
            jobs.c.locked_by == v.c.worker,
            jobs.c.attempts == v.c.attempt,
        )
        .values(
            status=JobStatus.COMPLETED.value,
            result=v.c.result,
            progress=100,
            progress_message=case((v.c.has_message, v.c.message), else_=jobs.c.progress_message),
            error=None,
            completed_at=bindparam("now"),
            updated_at=bindparam("now"),
            locked_until=None,
        )
        .returning(jobs.c.id, jobs.c.attempts)
    )


def completed_rows(ended: Sequence[tuple[Lock, Outcome]]) -> list[tuple[Any, ...]]:
    """The values of ``COMPLETED_COLUMNS`` for these completions."""
    return [
        (
            lock.job_id,
            lock.worker_id,
            lock.attempt,
            None if outcome.result is None else json.dumps(outcome.result),
            bool(outcome.progress),
            outcome.progress[-1].message if outcome.progress else None,
        )
        for lock, outcome in ended
    ]


def apply_outcomes(
    conn: Connection, dialect: Dialect, ended: Sequence[tuple[Lock, Outcome]], now: datetime
) -> list[bool]:
    """Write each (lock, outcome) on ``conn`` like ``apply_outcome``, completions
    together in one statement; for each, whether it was written (False: fenced out)."""
    written = [False] * len(ended)
    plain = [n for n, (_, outcome) in enumerate(ended) if _completes_plainly(outcome)]
    if plain:
        done = _complete_all(conn, dialect, [ended[n] for n in plain], now)
        for n in plain:
            written[n] = (ended[n][0].job_id, ended[n][0].attempt) in done
    for n, (lock, outcome) in enumerate(ended):
        if not _completes_plainly(outcome):
            written[n] = apply_outcome(conn, lock, outcome, now) is not None
    return written


def _completes_plainly(outcome: Outcome) -> bool:
    return outcome.status is JobStatus.COMPLETED and outcome.requires is None


def _complete_all(
    conn: Connection, dialect: Dialect, ended: Sequence[tuple[Lock, Outcome]], now: datetime
) -> set[tuple[str, int]]:
    params = dialect.batch_params(COMPLETED_COLUMNS, completed_rows(ended))
    result = conn.execute(complete_all_statement(dialect), {**params, "now": now})
    done = {(row.id, row.attempts) for row in result}
    record_progress_events(conn, ended, done)
    return done


def record_progress_events(
    conn: Connection, ended: Sequence[tuple[Lock, Outcome]], done: set[tuple[str, int]]
) -> None:
    """The progress events of the completions written (``done``: (id, attempt))."""
    events = [
        event
        for lock, outcome in ended
        if outcome.progress and (lock.job_id, lock.attempt) in done
        for event in _progress_events(lock, outcome.progress)
    ]
    record_events(conn, events)


class RecordOps(StoreBase):
    def record_outcomes(
        self, ended: Sequence[tuple[Lock, Outcome]], now: datetime | None = None
    ) -> list[JobMetadata | None]:
        """Apply each (lock, outcome) in one transaction, each fenced by its own
        lock; for each, the job as it now stands or None if fenced out.

        A value the database refuses rolls back the whole transaction: retry
        the outcomes one by one to find it.
        """
        now = now or utcnow()
        with self.write() as conn:
            rows = [apply_outcome(conn, lock, outcome, now) for lock, outcome in ended]
        return [metadata_from_row(row) if row is not None else None for row in rows]

    def record_outcome(
        self, lock: Lock, outcome: Outcome, now: datetime | None = None
    ) -> JobMetadata | None:
        """Apply one outcome (see ``record_outcomes``)."""
        [final] = self.record_outcomes([(lock, outcome)], now)
        return final

    def record_progress(self, lock: Lock, updates: Sequence[ProgressUpdate]) -> bool:
        """Persist progress updates (latest on the row, all as events); False if fenced out."""
        if not updates:
            return True
        last = updates[-1]
        values = {"progress": last.percent, "progress_message": last.message, "updated_at": last.at}
        with self.write() as conn:
            stmt = guarded_update(tuple(sorted(values)))
            changed = conn.execute(stmt, fenced_params(lock, values)).rowcount
            if changed:
                record_events(conn, _progress_events(lock, updates))
        return bool(changed)

    def extend_locks(
        self, locks: Sequence[Lock], lock_timeout: float, now: datetime | None = None
    ) -> dict[Lock, bool]:
        """Extend these locks by ``lock_timeout`` from ``now``, each only while it
        is held (job running, same worker, same attempt), in one statement;
        returns {lock: cancel_requested} for those extended.

        A lock missing from the answer is no longer held.
        """
        if not locks:
            return {}
        now = now or utcnow()
        params = {
            "locks": [(lock.job_id, lock.worker_id, lock.attempt) for lock in locks],
            "locked_until": now + timedelta(seconds=lock_timeout),
        }
        with self.write() as conn:
            rows = conn.execute(_EXTEND_LOCKS, params).all()
        return {
            Lock(row.id, row.locked_by, row.attempts): bool(row.cancel_requested) for row in rows
        }

    def has_expired_locks(self, now: datetime | None = None) -> bool:
        """A cheap read to decide whether ``rescue_expired`` (a write) is worth running."""
        stmt = select(jobs.c.id).where(
            jobs.c.status == JobStatus.RUNNING, jobs.c.locked_until < (now or utcnow())
        )
        with self.read() as conn:
            return conn.execute(stmt.limit(1)).first() is not None

    def rescue_expired(self, now: datetime | None = None, limit: int = 100) -> list[str]:
        """End the attempts of running jobs whose lock expired (``outcomes.lock_expired``)."""
        now = now or utcnow()
        with self.write() as conn:
            rows = conn.execute(
                select(jobs)
                .where(jobs.c.status == JobStatus.RUNNING, jobs.c.locked_until < now)
                .limit(limit)
            ).all()
            records = [metadata_from_row(row) for row in rows]
            return [
                record.id
                for record in records
                if apply_outcome(conn, Lock.of(record), outcomes.lock_expired(record, now), now)
            ]

    def release(self, lock: Lock, now: datetime | None = None) -> bool:
        """Give a running job back to pending without using up an attempt (shutdown).

        A job whose cancellation was requested ends cancelled instead: run
        again, it would only be cancelled at its next heartbeat.
        """
        now = now or utcnow()
        with self.write() as conn:
            row = apply_outcome(conn, lock, outcomes.cancelled_at_shutdown(), now)
            if row is None:
                row = apply_outcome(conn, lock, outcomes.released_at_shutdown(now), now)
        return row is not None


def _outcome_values(lock: Lock, outcome: Outcome, now: datetime) -> dict[str, Any]:
    values: dict[str, Any] = {"status": outcome.status, "updated_at": now, "locked_until": None}
    if outcome.gives_back_attempt:
        values.update(
            attempts=lock.attempt - 1,
            locked_by=None,
            started_at=None,
            run_at=outcome.retry_at or now,
        )
        return values
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
            "kind": EventKind.PROGRESS,
            "at": update.at,
            "attempt": lock.attempt,
            "worker_id": lock.worker_id,
            "progress": update.percent,
            "message": update.message,
        }
        for update in updates
    ]


def _trail(lock: Lock, row: Row[Any], outcome: Outcome, now: datetime) -> list[dict[str, Any]]:
    common = {"job_id": lock.job_id, "attempt": lock.attempt, "worker_id": lock.worker_id}
    ended = {"at": now, "error": outcome.error, "traceback": outcome.traceback}
    return [
        {**common, "kind": kind, "at": row.started_at or now}
        if kind is EventKind.STARTED
        else {**common, "kind": kind, **ended, "message": outcome.note}
        for kind in outcome.trail
    ]
