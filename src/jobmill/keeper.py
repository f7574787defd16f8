"""Keeps the locks of jobs run in the caller (``now``, ``execute_from_database``)
alive, so a long call is never mistaken for a dead worker."""

from __future__ import annotations

import logging
import os
import socket
import threading
import weakref
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from jobmill.store import Store

logger = logging.getLogger("jobmill.keeper")


def caller_worker_id(kind: str) -> str:
    return f"{kind}:{socket.gethostname()}:{os.getpid()}"


class LockKeeper:
    """One daemon thread per store that heartbeats the jobs running in callers."""

    _instances: ClassVar[weakref.WeakKeyDictionary[Store, LockKeeper]] = weakref.WeakKeyDictionary()
    _mutex: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, store: Store, lock_timeout: float) -> None:
        self.store = store
        self.lock_timeout = lock_timeout
        self._held: dict[str, str] = {}  # job id -> worker id
        self._mutex_held = threading.Lock()
        self._thread: threading.Thread | None = None

    @classmethod
    def for_store(cls, store: Store, lock_timeout: float) -> LockKeeper:
        with cls._mutex:
            keeper = cls._instances.get(store)
            if keeper is None:
                keeper = cls._instances[store] = cls(store, lock_timeout)
            return keeper

    def hold(self, job_id: str, worker_id: str) -> None:
        with self._mutex_held:
            self._held[job_id] = worker_id
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="jobmill-keeper", daemon=True
                )
                self._thread.start()

    def release(self, job_id: str) -> None:
        with self._mutex_held:
            self._held.pop(job_id, None)

    def _loop(self) -> None:
        interval = self.lock_timeout / 3
        while True:
            threading.Event().wait(interval)
            with self._mutex_held:
                held = dict(self._held)
            by_worker: dict[str, list[str]] = {}
            for job_id, worker_id in held.items():
                by_worker.setdefault(worker_id, []).append(job_id)
            for worker_id, job_ids in by_worker.items():
                try:
                    self.store.heartbeat(worker_id, job_ids, self.lock_timeout)
                except Exception:
                    logger.exception("could not extend the locks of %s", job_ids)
