"""Cron entries (``cron_jobs``): add, list, enable, disable, remove, and fire ticks.

Firing a tick enqueues its jobs in the same transaction that moves the entry's
``next_run_at`` on, with an UPDATE guarded by the ``next_run_at`` the scheduler
read. Only one scheduler can win that UPDATE, so any number of schedulers
enqueue exactly one job per tick, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    Text,
    delete,
    select,
    type_coerce,
    update,
)

from jobmill.clock import utcnow
from jobmill.errors import CronError, JobmillError
from jobmill.events import EventKind
from jobmill.storable import INTEGER_MAX, text_problem
from jobmill.store.base import record_events
from jobmill.store.enqueue import EnqueueOps, NewJobs
from jobmill.store.schema import cron_jobs, jobs

# The parts of an entry that its declaration in code owns.
DEFINITION = (
    "job_name",
    "cron_expression",
    "timezone",
    "params",
    "misfire_policy",
    "backfill_limit",
    "queue",
    "priority",
)


class CronJobNotFound(JobmillError, LookupError):
    """No cron entry has that name or id."""

    def __init__(self, name_or_id: str | int):
        self.name_or_id = name_or_id
        super().__init__(f"no cron entry named or numbered {name_or_id!r}")


class CronJob(BaseModel):
    """One stored cron entry. ``last_job_status`` is the status of ``last_job_id``."""

    model_config = ConfigDict(frozen=True)

    id: int
    name: str | None
    job_name: str
    cron_expression: str
    timezone: str
    params: Any
    enabled: bool
    misfire_policy: str
    backfill_limit: int
    queue: str | None
    priority: int | None
    declared_in_code: bool
    last_run_at: datetime | None
    next_run_at: datetime | None
    last_job_id: str | None
    last_job_status: str | None
    last_error: str | None
    missed_ticks: int
    created_at: datetime | None
    updated_at: datetime | None
    updated_by: str | None = None

    @property
    def label(self) -> str:
        """How messages name the entry: ``'nightly' (#3)`` or ``#3``."""
        return f"{self.name!r} (#{self.id})" if self.name else f"#{self.id}"


@dataclass(frozen=True)
class NewCronJob:
    """A validated entry to store; ``next_run_at`` is its first tick."""

    name: str | None
    job_name: str
    cron_expression: str
    timezone: str
    params: Any
    next_run_at: datetime | None
    misfire_policy: str = "run_once"
    backfill_limit: int = 100
    queue: str | None = None
    priority: int | None = None
    enabled: bool = True
    declared_in_code: bool = False
    updated_by: str | None = None

    def definition(self) -> dict[str, Any]:
        return {column: getattr(self, column) for column in DEFINITION}

    def row(self, now: datetime) -> dict[str, Any]:
        return {
            **self.definition(),
            "name": self.name,
            "enabled": self.enabled,
            "declared_in_code": self.declared_in_code,
            "next_run_at": self.next_run_at if self.enabled else None,
            "created_at": now,
            "updated_at": now,
            "updated_by": self.updated_by,
        }


@dataclass(frozen=True)
class DueCronJob:
    """A due entry and its ``next_run_at`` exactly as stored, to guard its firing.

    The stored value, not the parsed time, is compared: a time written by hand
    in another format (``2026-01-01 00:00:00`` on SQLite) still matches itself.
    """

    entry: CronJob
    stored_next_run_at: Any


@dataclass(frozen=True)
class CronFiring:
    """What firing one due entry writes: its jobs, its next tick, the missed count.

    ``seen`` is the ``stored_next_run_at`` the scheduler read; the write
    happens only if the row still holds it. ``note`` goes into each job's history.
    """

    cron_job_id: int
    seen: Any
    next_run_at: datetime
    new_jobs: Sequence[NewJobs]
    missed_ticks: int
    source: str
    note: str


def _stored_next_run_at() -> ColumnElement[str]:
    """``next_run_at`` without the type's conversion: SQLite's text, PostgreSQL's timestamptz."""
    return type_coerce(cron_jobs.c.next_run_at, Text)


def _entries() -> Select[Any]:
    return select(*cron_jobs.c, jobs.c.status.label("last_job_status")).outerjoin(
        jobs, jobs.c.id == cron_jobs.c.last_job_id
    )


def _is_entry_id(number: int) -> bool:
    """Whether ``number`` can be an entry's id; no other is looked up (PostgreSQL
    refuses a query value outside its INTEGER)."""
    return 1 <= number <= INTEGER_MAX


def _entry(row: Row[Any]) -> CronJob:
    return CronJob.model_validate(dict(row._mapping))


class CronOps(EnqueueOps):
    def add_cron_job(self, entry: NewCronJob, now: datetime | None = None) -> CronJob:
        """Store a new entry; ``CronError`` if its name is taken."""
        now = now or utcnow()
        with self.write() as conn:
            new_id = conn.execute(
                self.dialect.insert_ignoring_conflicts(cron_jobs, ["name"])
                .values(entry.row(now))
                .returning(cron_jobs.c.id)
            ).scalar()
            if new_id is None:
                raise CronError(f"a cron entry named {entry.name!r} already exists")
            return self._read_entry(conn, new_id)

    def get_cron_job(self, name_or_id: str | int) -> CronJob:
        """The entry with this name, else with this id (``CronJobNotFound``)."""
        key = str(name_or_id).strip()
        row = None
        with self.read() as conn:
            if text_problem(key) is None:
                row = conn.execute(_entries().where(cron_jobs.c.name == key)).first()
            if row is None and key.isascii() and key.isdigit() and _is_entry_id(int(key)):
                row = conn.execute(_entries().where(cron_jobs.c.id == int(key))).first()
        if row is None:
            raise CronJobNotFound(name_or_id)
        return _entry(row)

    def list_cron_jobs(self) -> list[CronJob]:
        """Every entry, named ones first by name, then by id."""
        stmt = _entries().order_by(cron_jobs.c.name.is_(None), cron_jobs.c.name, cron_jobs.c.id)
        with self.read() as conn:
            return [_entry(row) for row in conn.execute(stmt)]

    def due_cron_jobs(self, now: datetime) -> list[DueCronJob]:
        """Enabled entries whose tick has come, or whose ``next_run_at`` is not set yet."""
        stmt = (
            _entries()
            .add_columns(_stored_next_run_at().label("stored_next_run_at"))
            .where(
                cron_jobs.c.enabled.is_(True),
                cron_jobs.c.next_run_at.is_(None) | (cron_jobs.c.next_run_at <= now),
            )
            .order_by(cron_jobs.c.id)
        )
        with self.read() as conn:
            return [DueCronJob(_entry(row), row.stored_next_run_at) for row in conn.execute(stmt)]

    def set_first_cron_run(
        self, cron_job_id: int, next_run_at: datetime, now: datetime | None = None
    ) -> bool:
        """Set ``next_run_at`` of an enabled entry that has none yet; False if it has one."""
        with self.write() as conn:
            changed = conn.execute(
                update(cron_jobs)
                .where(
                    cron_jobs.c.id == cron_job_id,
                    cron_jobs.c.enabled.is_(True),
                    cron_jobs.c.next_run_at.is_(None),
                )
                .values(next_run_at=next_run_at, updated_at=now or utcnow())
            ).rowcount
        return bool(changed)

    def fire_cron_job(self, firing: CronFiring, now: datetime | None = None) -> bool:
        """Enqueue a tick's jobs and move the entry on, atomically; False if another
        scheduler fired this tick first (nothing is written then)."""
        now = now or utcnow()
        values: dict[str, Any] = {
            "next_run_at": firing.next_run_at,
            "missed_ticks": firing.missed_ticks,
            "last_error": None,
            "updated_at": now,
        }
        if firing.new_jobs:
            values.update(last_run_at=now, last_job_id=firing.new_jobs[-1].id)
        with self.write() as conn:
            won = conn.execute(
                update(cron_jobs)
                .where(
                    cron_jobs.c.id == firing.cron_job_id,
                    cron_jobs.c.enabled.is_(True),
                    _stored_next_run_at() == firing.seen,
                )
                .values(**values)
            ).rowcount
            if won and firing.new_jobs:
                self._enqueue_noted(
                    conn, firing.new_jobs, EventKind.CRON, firing.source, firing.note, now
                )
        if won:
            self.wake_listeners({job.queue for job in firing.new_jobs})
        return bool(won)

    def run_cron_job(
        self,
        cron_job_id: int,
        new_job: NewJobs,
        source: str,
        note: str,
        now: datetime | None = None,
    ) -> str:
        """Enqueue one job for an entry now, outside its schedule; returns the job id."""
        now = now or utcnow()
        with self.write() as conn:
            self._read_entry(conn, cron_job_id)
            self._enqueue_noted(conn, [new_job], EventKind.CRON_RUN, source, note, now)
            conn.execute(
                update(cron_jobs)
                .where(cron_jobs.c.id == cron_job_id)
                .values(last_run_at=now, last_job_id=new_job.id, updated_at=now)
            )
        self.wake_listeners({new_job.queue})
        return new_job.id

    def enable_cron_job(
        self,
        cron_job_id: int,
        next_run_at: datetime,
        now: datetime | None = None,
        updated_by: str | None = None,
    ) -> CronJob:
        """Enable an entry from ``next_run_at`` on (ticks missed meanwhile never fire)."""
        return self._change_entry(
            cron_job_id,
            enabled=True,
            next_run_at=next_run_at,
            last_error=None,
            missed_ticks=0,
            updated_at=now or utcnow(),
            updated_by=updated_by,
        )

    def disable_cron_job(
        self,
        cron_job_id: int,
        error: str | None = None,
        now: datetime | None = None,
        updated_by: str | None = None,
    ) -> CronJob:
        """Disable an entry; ``error`` (why the scheduler disabled it) goes to ``last_error``."""
        values: dict[str, Any] = {"enabled": False, "next_run_at": None, "updated_by": updated_by}
        if error is not None:
            values["last_error"] = error
        return self._change_entry(cron_job_id, updated_at=now or utcnow(), **values)

    def remove_cron_job(self, cron_job_id: int) -> None:
        """Delete an entry; the jobs it enqueued keep their ``cron_job_id``."""
        with self.write() as conn:
            gone = (
                _is_entry_id(cron_job_id)
                and conn.execute(delete(cron_jobs).where(cron_jobs.c.id == cron_job_id)).rowcount
            )
            if not gone:
                raise CronJobNotFound(cron_job_id)

    def upsert_cron_jobs(
        self, entries: Sequence[NewCronJob], now: datetime | None = None
    ) -> list[CronJob]:
        """Store entries declared in code, by name, in one transaction; returns them
        in name order.

        A new name is inserted. An existing entry takes the declared definition;
        its next tick is recomputed when the expression or time zone changed.
        An operator's ``enabled`` choice is kept, except that an entry the
        scheduler disabled for an error (``last_error``) is enabled again.
        """
        now = now or utcnow()
        # One order everywhere, so schedulers starting together cannot deadlock.
        ordered = sorted(entries, key=lambda entry: entry.name or "")
        with self.write() as conn:
            return [self._upsert_entry(conn, entry, now) for entry in ordered]

    # helpers -------------------------------------------------------------

    def _upsert_entry(self, conn: Connection, entry: NewCronJob, now: datetime) -> CronJob:
        inserted = conn.execute(
            self.dialect.insert_ignoring_conflicts(cron_jobs, ["name"])
            .values(entry.row(now))
            .returning(cron_jobs.c.id)
        ).scalar()
        if inserted is not None:
            return self._read_entry(conn, inserted)
        current = conn.execute(select(cron_jobs).where(cron_jobs.c.name == entry.name)).one()
        values = {
            column: value
            for column, value in entry.definition().items()
            if getattr(current, column) != value
        }
        revive = not current.enabled and current.last_error is not None
        if revive:
            values.update(enabled=True, last_error=None, missed_ticks=0)
        if revive or (current.enabled and {"cron_expression", "timezone"} & values.keys()):
            values["next_run_at"] = entry.next_run_at
        if values or not current.declared_in_code:
            conn.execute(
                update(cron_jobs)
                .where(cron_jobs.c.id == current.id)
                .values(declared_in_code=True, updated_at=now, **values)
            )
        return self._read_entry(conn, current.id)

    def _enqueue_noted(
        self,
        conn: Connection,
        new_jobs: Sequence[NewJobs],
        kind: EventKind,
        source: str,
        note: str,
        now: datetime,
    ) -> None:
        self.enqueue(new_jobs, connection=conn, now=now)
        record_events(
            conn,
            [
                {"job_id": job.id, "kind": kind, "at": now, "message": note, "source": source}
                for job in new_jobs
            ],
        )

    def _change_entry(self, cron_job_id: int, **values: Any) -> CronJob:
        if not _is_entry_id(cron_job_id):
            raise CronJobNotFound(cron_job_id)
        with self.write() as conn:
            changed = conn.execute(
                update(cron_jobs).where(cron_jobs.c.id == cron_job_id).values(**values)
            ).rowcount
            if not changed:
                raise CronJobNotFound(cron_job_id)
            return self._read_entry(conn, cron_job_id)

    @staticmethod
    def _read_entry(conn: Connection, cron_job_id: int) -> CronJob:
        if not _is_entry_id(cron_job_id):
            raise CronJobNotFound(cron_job_id)
        row = conn.execute(_entries().where(cron_jobs.c.id == cron_job_id)).first()
        if row is None:
            raise CronJobNotFound(cron_job_id)
        return _entry(row)
