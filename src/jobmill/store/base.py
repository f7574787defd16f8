"""The connection plumbing every store operation shares."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from operator import itemgetter
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


# JobMetadata's fields, in order, and the jobs column each is read from.
_FIELDS = tuple(JobMetadata.model_fields)
_COLUMN_OF = {"worker_id": "locked_by"}
_STATUS = {status.value: status for status in JobStatus}


def metadata_from_row(row: Row[Any]) -> JobMetadata:
    """A frozen ``JobMetadata`` from a ``jobs`` row."""
    [record] = metadata_from_rows([row])
    return record


def metadata_from_rows(rows: Sequence[Row[Any]]) -> list[JobMetadata]:
    """Frozen ``JobMetadata`` from rows of one result holding the ``jobs``
    columns (and maybe others)."""
    return metadata_from_tuples(rows[0]._fields, rows) if rows else []


def metadata_from_tuples(names: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[JobMetadata]:
    """Frozen ``JobMetadata`` from rows whose columns are ``names`` (the ``jobs``
    columns, maybe others), each value taken by its position (read for every
    claimed job: name lookups cost more than the rest)."""
    read = itemgetter(*(names.index(_COLUMN_OF.get(field, field)) for field in _FIELDS))
    status, cancel_requested = _FIELDS.index("status"), _FIELDS.index("cancel_requested")
    records = []
    for row in rows:
        values = list(read(row))
        stored = values[status]
        values[status] = _STATUS.get(stored, stored)
        values[cancel_requested] = bool(values[cancel_requested])
        records.append(JobMetadata.from_stored(dict(zip(_FIELDS, values, strict=True))))
    return records


def known_status(stored: str) -> JobStatus | str:
    """The ``JobStatus`` of a stored status, or the text itself for one jobmill does not know."""
    return _STATUS.get(stored, stored)
