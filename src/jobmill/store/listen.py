"""PostgreSQL wake-ups: a thread that LISTENs for enqueues and calls back at once.

The enqueueing transaction runs ``pg_notify('jobmill:<schema>', queue)``;
PostgreSQL delivers it when that transaction commits (never on rollback). The
channel is named for the schema that holds the ``jobs`` table, as the URL's
search_path resolves it, so schemas sharing a database stay apart. The listener
holds one dedicated autocommit connection, outside the engine's pool, and
re-establishes it with backoff when it is lost. Notifications sent while it is
disconnected are lost, which is why workers keep polling as the safety net.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import URL, make_url

from jobmill.store.dialects import NOTIFY_CHANNEL_SQL, POSTGRES_CONNECT_DEFAULTS, normalise_url

logger = logging.getLogger("jobmill.listen")


def connect_kwargs(url: str | URL) -> dict[str, Any]:
    """psycopg ``connect()`` arguments for a SQLAlchemy URL, query options included
    (``?options=-csearch_path%3Dapp`` becomes ``options="-csearch_path=app"``)."""
    if isinstance(url, str):
        url = make_url(normalise_url(url))
    kwargs: dict[str, Any] = url.translate_connect_args(database="dbname", username="user")
    for name, value in url.query.items():
        kwargs[name] = value if isinstance(value, str) else value[-1]
    return kwargs


class PostgresListener:
    """Calls ``callback(queue_name)`` for every job enqueued, from its own thread.

    Example::

        listener = PostgresListener("postgresql://db.internal/app")
        listener.start(lambda queue: wake_event.set())
        ...
        listener.stop()

    The thread checks for ``stop()`` every ``wait_timeout`` seconds. Backoff
    between reconnection attempts doubles from ``backoff_min`` to ``backoff_max``
    seconds; an outage is logged once when it starts and once when it ends.
    ``channel`` (named for the schema of the ``jobs`` table) is known once
    ``connected`` is set.
    """

    def __init__(
        self,
        url: str | URL,
        *,
        wait_timeout: float = 0.5,
        backoff_min: float = 0.1,
        backoff_max: float = 5.0,
    ) -> None:
        self.connect_kwargs = {**POSTGRES_CONNECT_DEFAULTS, **connect_kwargs(url)}
        self.channel: str | None = None  # known once connected
        self.wait_timeout = wait_timeout
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.connected = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._callback: Callable[[str], None] | None = None

    def start(self, callback: Callable[[str], None]) -> None:
        """Start listening in a daemon thread; returns at once."""
        if self._thread is not None:
            raise RuntimeError("this PostgresListener is already started")
        self._callback = callback
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="jobmill-listen", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening and wait for the thread (about ``wait_timeout`` at most)."""
        self._stopping.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(self.wait_timeout + 5.0)

    def _run(self) -> None:
        import psycopg

        failures = 0
        outage_started = 0.0
        while not self._stopping.is_set():
            try:
                with psycopg.connect(autocommit=True, **self.connect_kwargs) as conn:
                    self._listen(conn)
                    self.connected.set()
                    if failures:
                        logger.warning(
                            "LISTEN connection re-established after %.1f s (%d attempts)",
                            time.monotonic() - outage_started,
                            failures,
                        )
                        failures = 0
                    self._deliver(conn)
            except psycopg.Error as exc:
                self.connected.clear()
                if not failures:
                    outage_started = time.monotonic()
                    logger.warning("LISTEN connection failed (%s); retrying with backoff", exc)
                else:
                    logger.debug("LISTEN reconnection attempt %d failed: %s", failures, exc)
                failures += 1
                self._stopping.wait(self._backoff(failures))
        self.connected.clear()

    def _listen(self, conn: Any) -> None:
        from psycopg import sql

        row = conn.execute(f"SELECT {NOTIFY_CHANNEL_SQL}").fetchone()
        self.channel = str(row[0])
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))

    def _deliver(self, conn: Any) -> None:
        # notifies() ends when wait_timeout passes with nothing received, so
        # the stop flag is checked at least that often.
        assert self._callback is not None
        while not self._stopping.is_set():
            for notify in conn.notifies(timeout=self.wait_timeout):
                try:
                    self._callback(notify.payload)
                except Exception:
                    logger.exception("wake-up callback failed for queue %r", notify.payload)
                if self._stopping.is_set():
                    return

    def _backoff(self, failures: int) -> float:
        delay: float = min(self.backoff_max, self.backoff_min * 2 ** (failures - 1))
        return delay
