"""Which database errors a retry can cure."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

# SQLite reports these as operational errors too, but waiting does not cure them.
PERMANENT_SQLITE_ERRORS = (
    "attempt to write a readonly database",
    "database disk image is malformed",
)


def is_transient(exc: BaseException) -> bool:
    """True for errors a retry can cure: lost connections, locked databases."""
    if isinstance(exc, OperationalError | InterfaceError):
        return not any(text in str(exc.orig) for text in PERMANENT_SQLITE_ERRORS)
    if isinstance(exc, DBAPIError):
        return bool(exc.connection_invalidated)
    # libSQL raises plain ValueErrors that SQLAlchemy does not wrap.
    return isinstance(exc, ValueError) and "database is locked" in str(exc)
