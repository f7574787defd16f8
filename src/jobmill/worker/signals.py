"""SIGTERM and SIGINT for a worker: the first asks for a graceful stop, the
second for an immediate one."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("jobmill.worker")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopSignals:
    """Installs handlers on the running loop (main thread only) and restores the
    previous ones on ``remove()``."""

    def __init__(self, on_first: Callable[[], None], on_second: Callable[[], None]) -> None:
        self._on_first = on_first
        self._on_second = on_second
        self._received = 0
        self._previous: dict[signal.Signals, Any] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def install(self, loop: asyncio.AbstractEventLoop) -> bool:
        """True if installed; False outside the main thread, where Python allows none."""
        if threading.current_thread() is not threading.main_thread():
            return False
        self._loop = loop
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.getsignal(signum)
            loop.add_signal_handler(signum, self._handle, signum)
        return True

    def remove(self) -> None:
        if self._loop is None:
            return
        for signum, previous in self._previous.items():
            self._loop.remove_signal_handler(signum)
            signal.signal(signum, previous)
        self._previous.clear()
        self._loop = None

    def _handle(self, signum: signal.Signals) -> None:
        self._received += 1
        name = signal.Signals(signum).name
        if self._received == 1:
            logger.warning("%s received: finishing running jobs (again to stop at once)", name)
            self._on_first()
        else:
            logger.warning("%s received again: stopping at once", name)
            self._on_second()
