"""Connections of the database driver itself, for the enqueue hot path.

An enqueue is one small INSERT, and SQLAlchemy's work per statement costs more
than the insert; on SQLite, so does a checkout from its pool. Driver
connections come from the engine's pool, or on SQLite (where a connection is
a file handle) from spares kept here: taking one is a list pop.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import PoolProxiedConnection


class DriverConnections:
    """Hands out driver connections; with ``keep_spares``, keeps those given back
    (set up by the engine like its own, detached from its pool) for the next
    taker, whatever its thread."""

    def __init__(self, engine: Engine, keep_spares: bool) -> None:
        self._engine = engine
        self._keep_spares = keep_spares
        self._spares: list[PoolProxiedConnection] = []
        # A forked child must not use its parent's connections (the engine
        # forgets its pool too). A weak reference, so that this can be freed.
        spares = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _forget_spares(spares))

    @contextmanager
    def connection(self) -> Iterator[Any]:
        """A driver connection, idle. Driver errors come out as SQLAlchemy's
        (``sqlalchemy.exc.IntegrityError``...); a connection that saw one is
        closed, not handed out again, so whatever it was in the middle of is
        rolled back."""
        taken = self._take()
        try:
            yield taken.dbapi_connection  # the driver's own: jobmill's drivers are not async
        except BaseException as exc:
            dialect = self._engine.dialect
            # Asked before the connection closes: whether the error lost it.
            translated = (
                _translated(exc, dialect, taken.dbapi_connection)
                if isinstance(exc, dialect.loaded_dbapi.Error)
                else None
            )
            if not self._keep_spares:
                taken.invalidate(exc)  # closed; the pool opens another in its place
            taken.close()  # detached, a spare's driver connection closes with it
            if translated is None:
                raise
            raise translated from exc
        if self._keep_spares:
            self._spares.append(taken)
        else:
            taken.close()

    def close(self) -> None:
        """Close the spares."""
        spares, self._spares = self._spares, []
        for spare in spares:
            spare.close()

    def _take(self) -> PoolProxiedConnection:
        if not self._keep_spares:
            return self._engine.raw_connection()
        try:
            return self._spares.pop()
        except IndexError:
            connection = self._engine.raw_connection()
            connection.detach()
            return connection


@contextmanager
def driver_of(connection: Connection) -> Iterator[Any]:
    """The driver connection under ``connection``, to run a hot statement on
    without SQLAlchemy's work per call. Driver errors come out as SQLAlchemy's;
    one that lost the connection invalidates it."""
    dialect = connection.dialect
    dbapi_connection = connection.connection.dbapi_connection
    try:
        yield dbapi_connection
    except dialect.loaded_dbapi.Error as exc:
        translated = _translated(exc, dialect, dbapi_connection)
        if translated.connection_invalidated:
            connection.invalidate(exc)
        raise translated from exc


def _translated(exc: Any, dialect: Dialect, dbapi_connection: Any) -> DBAPIError:
    lost = dialect.is_disconnect(exc, dbapi_connection, None)
    translated = DBAPIError.instance(
        None, None, exc, dialect.loaded_dbapi.Error, connection_invalidated=lost, dialect=dialect
    )
    assert isinstance(translated, DBAPIError)  # what it makes of a driver error
    return translated


def _forget_spares(spares: weakref.ref[DriverConnections]) -> None:
    connections = spares()
    if connections is not None:
        connections._spares = []
