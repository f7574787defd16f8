"""Riding out database trouble: which errors pass, and logging a streak of them once.

A worker meets a lost PostgreSQL connection or SQLite's "database is locked"
(past the busy timeout) as an exception from a store call. It must not die
of one: it logs the first, backs off, retries, and logs the recovery.
"""

from __future__ import annotations

import logging

from jobmill.store.errors import is_transient

BACKOFF_MIN = 0.05
BACKOFF_MAX = 5.0

__all__ = ["BACKOFF_MAX", "BACKOFF_MIN", "ErrorStreak", "is_transient"]


class ErrorStreak:
    """Backoff for consecutive failures of one duty, logged once per streak.

    ``failed(exc)`` logs the first failure and returns the seconds to wait
    (doubling up to ``BACKOFF_MAX``); ``succeeded()`` logs the recovery.
    """

    def __init__(self, duty: str, logger: logging.Logger) -> None:
        self.duty = duty
        self.logger = logger
        self.failures = 0

    def failed(self, exc: BaseException) -> float:
        self.failures += 1
        if self.failures == 1:
            kind = "database error" if is_transient(exc) else "unexpected error"
            self.logger.warning(
                "%s failed (%s: %s); retrying with backoff",
                self.duty,
                kind,
                exc,
                exc_info=not is_transient(exc),
            )
        delay: float = min(BACKOFF_MAX, BACKOFF_MIN * 2.0 ** (self.failures - 1))
        return delay

    def succeeded(self) -> None:
        if self.failures:
            self.logger.info("%s works again after %d failures", self.duty, self.failures)
            self.failures = 0
