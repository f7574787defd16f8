"""Waking the claim loop: at once when a job is enqueued, else every poll interval.

Enqueues in this process call back through ``store.enqueue_listeners``;
enqueues anywhere arrive through the dialect's listener where it has one
(PostgreSQL: LISTEN/NOTIFY, unless a pooler in transaction mode rules it out).
Polling stays on in every case: jobs scheduled for later, retries whose
backoff ended and notifications lost during an outage are only found by looking.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence

from jobmill.store import Store
from jobmill.store.dialects import Listener

logger = logging.getLogger("jobmill.worker")


class Waker:
    """Calls ``wake()`` when jobs for these queues were enqueued: at once for
    enqueues in this process, by LISTEN/NOTIFY for other processes where the
    database has it. ``wake`` is called from any thread."""

    def __init__(
        self,
        store: Store,
        queues: Sequence[str] | None,
        wake: Callable[[], None],
        poll_interval: float,
    ) -> None:
        self.store = store
        self.queues = frozenset(queues) if queues else None
        self.wake = wake
        self.poll_interval = poll_interval
        self._listener: Listener | None = None

    def start(self) -> None:
        self.store.enqueue_listeners.append(self._heard)
        self._listener = self._start_listener()

    def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self.store.enqueue_listeners.remove(self._heard)
        if self._listener is not None:
            self._listener.stop()
            self._listener = None

    def _heard(self, queues: set[str]) -> None:
        if self.queues is None or not self.queues.isdisjoint(queues):
            self.wake()

    def _heard_one(self, queue: str) -> None:
        self._heard({queue})

    def _start_listener(self) -> Listener | None:
        try:
            listener = self.store.dialect.listener(self.store.engine.url)
            if listener is not None:
                listener.start(self._heard_one)
        except Exception:
            # Wake-ups are an optimisation: a worker that cannot listen still polls.
            logger.exception("could not start listening for enqueues; polling only")
            return None
        reason = self.store.dialect.not_listening_because
        if listener is None and reason is not None:
            logger.info(
                "not listening for enqueues in other processes (%s): "
                "polling for new jobs every %g s",
                reason,
                self.poll_interval,
            )
        return listener
