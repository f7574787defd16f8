"""The heartbeat thread: beats this worker's ``LockKeeper`` (its jobs' locks,
cancellation requests), keeps its ``workers`` row alive, and rescues jobs
whose worker died.

It is a thread, not an event-loop task, so that an async job blocking the
loop cannot starve it: a job longer than the lock timeout is never taken from
a worker that is alive. Locks are extended before expired ones are rescued,
so a worker resuming after a pause keeps a lock nobody has taken yet.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from jobmill.clock import utcnow
from jobmill.keeper import LockKeeper, heartbeat_interval
from jobmill.store import Store
from jobmill.worker.attempts import RunningAttempt
from jobmill.worker.errors import ErrorStreak

logger = logging.getLogger("jobmill.worker")

# A workers row this old belongs to a worker that is gone (a live one beats
# at least every MAX_INTERVAL, and re-registers if its row was pruned).
STALE_WORKER_AFTER = timedelta(seconds=60)


class Heartbeat:
    """Runs ``tick()`` every ``interval`` seconds in a daemon thread until stopped."""

    def __init__(
        self,
        store: Store,
        worker_id: str,
        keeper: LockKeeper[RunningAttempt],
        *,
        register: Callable[[], None],
        on_rescued: Callable[[], None],
    ) -> None:
        self.store = store
        self.worker_id = worker_id
        self.keeper = keeper
        self.interval = heartbeat_interval(keeper.lock_timeout)
        self._register = register
        self._on_rescued = on_rescued
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._streaks = {
            duty: ErrorStreak(duty, logger)
            for duty in ("extending locks", "worker heartbeat", "rescuing expired locks")
        }

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="jobmill-heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            self.tick()

    def tick(self, now: datetime | None = None) -> None:
        """One round of every duty; a failing duty does not keep the others from running."""
        now = now or utcnow()
        self._guarded("extending locks", self.keeper.beat, now)
        self._guarded("worker heartbeat", self.beat_worker, now)
        self._guarded("rescuing expired locks", self.rescue, now)

    def _guarded(self, duty: str, action: Callable[[datetime], None], now: datetime) -> None:
        streak = self._streaks[duty]
        try:
            action(now)
        except Exception as exc:
            streak.failed(exc)
        else:
            streak.succeeded()

    def beat_worker(self, now: datetime) -> None:
        if not self.store.heartbeat_worker(self.worker_id, now):
            logger.warning("the row of worker %s was pruned; registering again", self.worker_id)
            self._register()

    def rescue(self, now: datetime) -> None:
        if not self.store.has_expired_locks(now):
            return
        rescued = self.store.rescue_expired(now)
        if rescued:
            logger.warning("rescued %d jobs whose lock expired: %s", len(rescued), rescued)
            self.store.prune_workers(now - STALE_WORKER_AFTER)
            self._on_rescued()
