"""Timeouts for synchronous jobs.

A thread cannot be killed. The best Python allows is to raise an exception in
it asynchronously (``PyThreadState_SetAsyncExc``): it arrives at the next
bytecode, so pure-Python code stops promptly, while a blocking C call (a long
``time.sleep``, a socket read without its own timeout) finishes first. Jobs
that must stop at once should be async, or check ``self.cancel_requested``.
"""

from __future__ import annotations

import ctypes
import heapq
import itertools
import os
import threading
import time
from types import TracebackType

from jobmill.errors import JobCancelled, JobTimeout


class Alarms:
    """One thread that fires every deadline of the process when it passes (a
    timer thread per attempt cost more to start than a short job takes).

    Deadlines that end first are dropped from the queue in bulk once they
    are half of it, so that long timeouts on short jobs do not pile up.
    """

    def __init__(self) -> None:
        self._queue: list[tuple[float, int, ThreadDeadline]] = []
        self._order = itertools.count()  # ties: first set, first fired
        self._ended = 0  # deadlines in the queue that ended before their time
        self._changed = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None

    def set(self, deadline: ThreadDeadline, seconds: float) -> None:
        """Fire ``deadline`` in ``seconds`` unless it ends first."""
        with self._changed:
            entry = (time.monotonic() + seconds, next(self._order), deadline)
            heapq.heappush(self._queue, entry)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="jobmill-deadlines", daemon=True
                )
                self._thread.start()
            if self._queue[0] is entry:
                self._changed.notify()  # sooner than the one it waits for

    def ended(self) -> None:
        """A deadline set here ended before its time."""
        with self._changed:
            self._ended += 1
            if self._ended * 2 > len(self._queue):
                self._queue = [entry for entry in self._queue if not entry[2].done]
                heapq.heapify(self._queue)
                self._ended = 0

    @property
    def waiting(self) -> int:
        """How many deadlines are queued (ended ones included until dropped)."""
        return len(self._queue)

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._queue or self._queue[0][0] > time.monotonic():
                    timeout = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._changed.wait(timeout)
                _, _, deadline = heapq.heappop(self._queue)
                if deadline.done:
                    self._ended = max(0, self._ended - 1)
                    continue
            deadline._expire()

    def _forget(self) -> None:
        # In a forked child: the thread did not come along, nor did its deadlines.
        self._queue, self._ended = [], 0
        self._changed = threading.Condition(threading.Lock())
        self._thread = None


ALARMS = Alarms()
os.register_at_fork(after_in_child=ALARMS._forget)


class ThreadDeadline:
    """Raise ``JobTimeout`` in the current thread once ``seconds`` have passed,
    or ``JobCancelled`` when ``interrupt()`` is called first (at most one of them)."""

    def __init__(self, seconds: float | None, on_expire: object = None) -> None:
        self.seconds = seconds
        self.expired = False
        self._fired = False
        self._done = False
        self._mutex = threading.Lock()
        self._thread_id = threading.get_ident()
        self._on_expire = on_expire

    @property
    def done(self) -> bool:
        """The block it guards has ended."""
        return self._done

    def __enter__(self) -> ThreadDeadline:
        if self.seconds is not None:
            ALARMS.set(self, self.seconds)
        return self

    def _expire(self) -> None:
        if self._raise(JobTimeout):
            self.expired = True
            if callable(self._on_expire):
                self._on_expire()

    def interrupt(self) -> None:
        """Stop the thread's job now: raise ``JobCancelled`` in it (cancellation)."""
        self._raise(JobCancelled)

    def _raise(self, error: type[BaseException]) -> bool:
        with self._mutex:
            if self._done or self._fired:
                return False
            self._fired = True
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(self._thread_id), ctypes.py_object(error)
            )
            return True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with self._mutex:
            self._done = True
        if self.seconds is not None:
            ALARMS.ended()
