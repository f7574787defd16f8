"""Timeouts for synchronous jobs.

A thread cannot be killed. The best Python allows is to raise an exception in
it asynchronously (``PyThreadState_SetAsyncExc``): it arrives at the next
bytecode, so pure-Python code stops promptly, while a blocking C call (a long
``time.sleep``, a socket read without its own timeout) finishes first. Jobs
that must stop at once should be async, or check ``self.cancel_requested``.
"""

from __future__ import annotations

import ctypes
import threading
from types import TracebackType

from jobmill.errors import JobCancelled, JobTimeout


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
        self._timer: threading.Timer | None = None
        self._on_expire = on_expire

    def __enter__(self) -> ThreadDeadline:
        if self.seconds is not None:
            self._timer = threading.Timer(self.seconds, self._expire)
            self._timer.daemon = True
            self._timer.start()
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
        if self._timer is not None:
            self._timer.cancel()
