"""The text of an error, fit to store: database errors without their SQL and values.

SQLAlchemy puts the statement and its parameters into an error's message, and
PostgreSQL adds DETAIL lines quoting the values (``Key (email)=(a@b.c) already
exists``). Stored in a job's error, they would show other rows' data to whoever
reads the job. A database error keeps only the first line of its message.
"""

from __future__ import annotations

import sqlite3
import sys
import traceback
from collections.abc import Iterator


def error_message(exc: BaseException) -> str:
    """``str(exc)``, cut to its first line for a database error."""
    text = str(exc)
    return text.split("\n", 1)[0] if is_database_error(exc) else text


def error_traceback(exc: BaseException) -> str:
    """The formatted traceback, with each database error's message cut as above."""
    text = "".join(traceback.format_exception(exc))
    for each in _chain(exc):
        full = str(each)
        if is_database_error(each) and "\n" in full:
            text = text.replace(full, error_message(each))
    return text


def is_database_error(exc: BaseException) -> bool:
    """An error from SQLAlchemy's execution, sqlite3 or psycopg (not imported here:
    an error of a library that was never loaded cannot have been raised)."""
    sqlalchemy_errors = sys.modules.get("sqlalchemy.exc")
    statement_error = getattr(sqlalchemy_errors, "StatementError", ())
    return isinstance(exc, (statement_error, sqlite3.Error)) or (
        type(exc).__module__.partition(".")[0] == "psycopg"
    )


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        each = pending.pop()
        if each is None or id(each) in seen:
            continue
        seen.add(id(each))
        yield each
        pending.extend((each.__cause__, each.__context__))
