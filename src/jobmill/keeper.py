"""Keeps the locks of jobs run in the caller (``now``, ``execute_from_database``)
alive, so a long call is never mistaken for a dead worker, and passes
cancellation requests (``jobmill.cancel``) on to those jobs."""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from jobmill.store import Store

logger = logging.getLogger("jobmill.keeper")

# Locks are extended this often relative to the lock timeout, and at least
# every MAX_INTERVAL seconds so that cancellation requests arrive promptly.
FRACTION_OF_LOCK_TIMEOUT = 0.25
MAX_INTERVAL = 5.0


def heartbeat_interval(lock_timeout: float) -> float:
    """Seconds between two extensions of a running job's lock."""
    return min(MAX_INTERVAL, lock_timeout * FRACTION_OF_LOCK_TIMEOUT)


class LockKeeper:
    """One daemon thread per store that heartbeats the jobs running in callers.

    ``hold(job_id, worker_id, on_cancel)``: ``on_cancel`` is called when an
    operator asked the job to stop, or when its lock was lost (the job was
    rescued after its lock expired, so whatever it returns will be discarded).
    """

    _instances: ClassVar[weakref.WeakKeyDictionary[Store, LockKeeper]] = weakref.WeakKeyDictionary()
    _mutex: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, store: Store, lock_timeout: float) -> None:
        self.store = store
        self.lock_timeout = lock_timeout
        # job id -> (worker id, what to call to ask that job to stop)
        self._held: dict[str, tuple[str, Callable[[], None]]] = {}
        self._mutex_held = threading.Lock()
        self._thread: threading.Thread | None = None

    @classmethod
    def for_store(cls, store: Store, lock_timeout: float) -> LockKeeper:
        with cls._mutex:
            keeper = cls._instances.get(store)
            if keeper is None:
                keeper = cls._instances[store] = cls(store, lock_timeout)
            return keeper

    def hold(self, job_id: str, worker_id: str, on_cancel: Callable[[], None]) -> None:
        with self._mutex_held:
            self._held[job_id] = (worker_id, on_cancel)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="jobmill-keeper", daemon=True
                )
                self._thread.start()

    def release(self, job_id: str) -> None:
        with self._mutex_held:
            self._held.pop(job_id, None)

    def _loop(self) -> None:
        pause = threading.Event()
        while not pause.wait(heartbeat_interval(self.lock_timeout)):
            with self._mutex_held:
                if not self._held:
                    # Idle: end, so that a store replaced by ``configure`` is
                    # not kept alive by this thread; ``hold`` starts another.
                    self._thread = None
                    return
            self.beat()

    def beat(self, now: datetime | None = None) -> None:
        """Extend every held lock once; tell the jobs to be cancelled or lost to stop."""
        with self._mutex_held:
            held = dict(self._held)
        by_worker: dict[str, list[str]] = {}
        for job_id, (worker_id, _) in held.items():
            by_worker.setdefault(worker_id, []).append(job_id)
        for worker_id, job_ids in by_worker.items():
            try:
                answer = self.store.heartbeat(worker_id, job_ids, self.lock_timeout, now)
            except Exception:
                logger.exception("could not extend the locks of %s", job_ids)
                continue
            for job_id in job_ids:
                # Missing from the answer: its lock was lost (stop it, its
                # result will be discarded) or it just finished (its outcome
                # is already settled, so asking it to stop changes nothing).
                if answer.get(job_id, True) and self._still_held(job_id):
                    held[job_id][1]()

    def _still_held(self, job_id: str) -> bool:
        with self._mutex_held:
            return job_id in self._held
