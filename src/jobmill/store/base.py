"""The connection plumbing every store operation shares."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Row, insert, text

from jobmill.records import JobMetadata
from jobmill.states import JobStatus
from jobmill.store.dialects import READ_ONLY, Dialect
from jobmill.store.driver import DriverConnections
from jobmill.store.schema import job_events


class StoreBase:
    """Holds the engine and the dialect seam; opens read and write transactions."""

    def __init__(self, engine: Engine, dialect: Dialect) -> None:
        self.engine = engine
        self.dialect = dialect
        self.enqueue_listeners: list[Callable[[set[str]], None]] = []
        self.driver = DriverConnections(engine, dialect.keeps_driver_connections)

    @contextmanager
    def write(self, connection: Connection | None = None) -> Iterator[Connection]:
        """A write transaction, or the caller's own connection when given."""
        if connection is not None:
            yield connection
            return
        with self.dialect.write_gate(), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn.execution_options(**{READ_ONLY: True})

    def ping(self) -> None:
        """Raise if the database does not answer."""
        with self.read() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.driver.close()
        self.engine.dispose()


def record_events(connection: Connection, events: list[dict[str, Any]]) -> None:
    """Append rows to ``job_events`` (one executemany)."""
    if events:
        defaults = dict.fromkeys(
            ("attempt", "worker_id", "progress", "message", "error", "traceback", "source")
        )
        connection.execute(insert(job_events), [{**defaults, **event} for event in events])


def metadata_from_row(row: Row[Any]) -> JobMetadata:
    """A frozen ``JobMetadata`` from a ``jobs`` row."""
    data = row._mapping
    return JobMetadata.from_stored(
        dict(
            id=data["id"],
            job_name=data["job_name"],
            queue=data["queue"],
            status=known_status(data["status"]),
            priority=data["priority"],
            params=data["params"],
            result=data["result"],
            error=data["error"],
            error_traceback=data["error_traceback"],
            progress=data["progress"],
            progress_message=data["progress_message"],
            attempts=data["attempts"],
            max_attempts=data["max_attempts"],
            timeout=data["timeout"],
            unique_key=data["unique_key"],
            enqueued_at=data["enqueued_at"],
            run_at=data["run_at"],
            started_at=data["started_at"],
            completed_at=data["completed_at"],
            worker_id=data["locked_by"],
            locked_until=data["locked_until"],
            cron_job_id=data["cron_job_id"],
            cancel_requested=bool(data["cancel_requested"]),
            updated_at=data["updated_at"],
        )
    )


def known_status(stored: str) -> JobStatus | str:
    """The ``JobStatus`` of a stored status, or the text itself for one jobmill does not know."""
    try:
        return JobStatus(stored)
    except ValueError:
        return stored
