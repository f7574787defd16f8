"""New jobs' rows as the database driver takes them.

Storing a job is one small INSERT, and SQLAlchemy's work per statement (and per
row of an executemany) costs more than the insert itself. So enqueueing builds
its statements once, as text, binds plain tuples and runs them on the driver.
Every job of one dispatch shares all its values but its id and params: they
are bound once per dispatch (``NewRows.shared``). PostgreSQL takes many rows
fastest as the text of a COPY.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jobmill.store.schema import ACTIVE

# The columns a new job's row sets, in the order their values are bound.
NEW_ROW_COLUMNS = (
    "id",
    "params",
    "job_name",
    "queue",
    "status",
    "priority",
    "max_attempts",
    "timeout",
    "unique_key",
    "run_at",
    "enqueued_at",
    "updated_at",
    "cron_job_id",
)

COPY_NEW_ROWS = f"COPY jobs ({', '.join(NEW_ROW_COLUMNS)}) FROM STDIN"
_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


@dataclass(frozen=True, slots=True)
class NewRows:
    """The rows of one dispatch's jobs: each job's id and params (JSON text, or
    None for NULL), and the values of the other columns, bound for the driver."""

    ids: Sequence[str]
    params: Sequence[str | None]
    shared: tuple[Any, ...]

    def tuples(self) -> Iterator[tuple[Any, ...]]:
        """One tuple per job, in ``NEW_ROW_COLUMNS`` order. Made as the driver
        takes them, so that a bulk insert does not hold them all at once (the
        garbage collector would keep looking at them)."""
        shared = self.shared
        for job_id, params in zip(self.ids, self.params, strict=True):
            yield (job_id, params, *shared)

    def copy_text(self) -> str:
        """The rows in the text format of ``COPY_NEW_ROWS``, a line each."""
        shared = "\t".join(map(copy_field, self.shared))
        return "".join(
            [
                f"{copy_field(job_id)}\t{copy_field(params)}\t{shared}\n"
                for job_id, params in zip(self.ids, self.params, strict=True)
            ]
        )


@dataclass(frozen=True)
class InsertStatements:
    """The enqueue statements for a driver's placeholder (``?`` or ``%s``).

    ``insert_unique`` inserts unless an active job of the same name holds the
    unique key (the partial unique index), returning the id only if it did;
    ``unique_holder`` finds the holder then.
    """

    insert: str
    insert_unique: str
    unique_holder: str

    @classmethod
    def with_placeholder(cls, mark: str) -> InsertStatements:
        insert = (
            f"INSERT INTO jobs ({', '.join(NEW_ROW_COLUMNS)})"
            f" VALUES ({', '.join(mark for _ in NEW_ROW_COLUMNS)})"
        )
        return cls(
            insert=insert,
            insert_unique=f"{insert} ON CONFLICT (job_name, unique_key)"
            f" WHERE unique_key IS NOT NULL AND {ACTIVE} DO NOTHING RETURNING id",
            unique_holder=f"SELECT id FROM jobs WHERE job_name = {mark}"
            f" AND unique_key = {mark} AND {ACTIVE}",
        )


def copy_field(value: Any) -> str:
    """One value in the text format of COPY (``\\N`` is NULL)."""
    if value is None:
        return "\\N"
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return text.translate(_COPY_ESCAPES) if _COPY_SPECIAL.search(text) else text
