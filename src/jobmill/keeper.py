"""Keeping running attempts' locks alive: one registry and one beat for the
attempts a worker runs and for those run in their caller (``now``,
``execute_from_database``).

Each beat extends every held lock in one fenced statement and passes on what
it learns: a cancellation request (``jobmill.cancel``) asks the attempt to
stop; a lock no longer held (rescued after it expired) asks it to stop too,
its result to be discarded. A worker's heartbeat thread drives the beat; for
callers, ``LockKeeper.for_store`` keeps a thread of its own while it holds any.
"""

from __future__ import annotations

import logging
import threading
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, Generic, Protocol, TypeVar

from jobmill.context import AttemptContext
from jobmill.outcomes import Lock

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


class Held(Protocol):
    """What the keeper holds: an attempt, through its context."""

    @property
    def context(self) -> AttemptContext: ...


@dataclass(eq=False)
class HeldAttempt:
    """An attempt run in its caller."""

    context: AttemptContext


H = TypeVar("H", bound=Held)


class LockKeeper(Generic[H]):
    """A thread-safe registry of running attempts keyed by their lock, and the beat
    that keeps those locks alive.

    The key includes the attempt number: an attempt whose lock was lost may
    still be running when the same job is claimed again.
    """

    _shared: ClassVar[weakref.WeakKeyDictionary[Store, LockKeeper[HeldAttempt]]] = (
        weakref.WeakKeyDictionary()
    )
    _shared_mutex: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, store: Store, lock_timeout: float, *, own_thread: bool = False) -> None:
        self.store = store
        self.lock_timeout = lock_timeout
        self._held: dict[Lock, H] = {}
        self._mutex = threading.Lock()
        self._own_thread = own_thread
        self._thread: threading.Thread | None = None

    @classmethod
    def for_store(cls, store: Store, lock_timeout: float) -> LockKeeper[HeldAttempt]:
        """The keeper of the attempts callers run against ``store`` (one per store)."""
        with cls._shared_mutex:
            keeper = cls._shared.get(store)
            if keeper is None:
                keeper = cls._shared[store] = LockKeeper(store, lock_timeout, own_thread=True)
            return keeper

    # the registry ---------------------------------------------------------

    def add(self, held: H) -> None:
        with self._mutex:
            self._held[_lock(held)] = held
            if self._own_thread and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(
                    target=self._run, name="jobmill-keeper", daemon=True
                )
                self._thread.start()

    def remove(self, held: H) -> bool:
        """Forget ``held``; False if it was already gone."""
        with self._mutex:
            return self._held.pop(_lock(held), None) is not None

    def snapshot(self) -> list[H]:
        with self._mutex:
            return list(self._held.values())

    def __len__(self) -> int:
        with self._mutex:
            return len(self._held)

    # the beat -------------------------------------------------------------

    def beat(self, now: datetime | None = None) -> None:
        """Extend every held lock once; ask attempts cancelled or lost to stop."""
        held = self.snapshot()
        if not held:
            return
        answer = self.store.extend_locks([_lock(h) for h in held], self.lock_timeout, now)
        for each in held:
            context, lock = each.context, _lock(each)
            if lock not in answer:
                _lost(context)
            elif answer[lock] and not context.cancel_requested:
                logger.info("cancelling %s %s as requested", context.record.job_name, lock)
                context.request_cancel()

    def _run(self) -> None:
        pause = threading.Event()
        while not pause.wait(heartbeat_interval(self.lock_timeout)):
            with self._mutex:
                if not self._held:
                    # Idle: end, so that a store replaced by ``configure`` is
                    # not kept alive by this thread; ``add`` starts another.
                    self._thread = None
                    return
            try:
                self.beat()
            except Exception:
                logger.exception("could not extend the locks of the jobs run here")


def _lock(held: Held) -> Lock:
    return held.context.lock


def _lost(context: AttemptContext) -> None:
    if context.settling or context.lock_lost:
        return  # it just finished (or was released): nothing to extend
    context.lock_lost = True
    record = context.record
    logger.warning(
        "lost the lock of %s %s attempt %d (it expired and was rescued); "
        "asking it to stop, its result will be discarded",
        record.job_name,
        record.id,
        record.attempts,
    )
    context.request_cancel()
