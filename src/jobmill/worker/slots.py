"""The worker's concurrency: at most ``concurrency`` attempts run at once, sync
and async together.

Threads take a slot blocking; coroutines wait for one on their event loop. A
slot given back goes to a waiting coroutine first (threads are woken by the
same condition otherwise), so neither kind can starve the other for long.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque


class Slots:
    """A counting semaphore shared by threads and one event loop."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._free = count
        self._changed = threading.Condition(threading.Lock())
        self._waiting: deque[asyncio.Future[None]] = deque()

    @property
    def busy(self) -> int:
        """How many slots are taken."""
        return self.count - self._free

    def take(self) -> None:
        """Take a slot, waiting in this thread until one is free."""
        with self._changed:
            while self._free == 0:
                self._changed.wait()
            self._free -= 1

    async def atake(self) -> None:
        """Take a slot, waiting on the running event loop until one is free."""
        with self._changed:
            if self._free:
                self._free -= 1
                return
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            with self._changed:
                handed = waiter.done() and not waiter.cancelled()
                with contextlib.suppress(ValueError):
                    self._waiting.remove(waiter)
            if handed:
                self.give()
            raise

    def give(self) -> None:
        """Give a slot back (from any thread)."""
        with self._changed:
            while self._waiting:
                waiter = self._waiting.popleft()
                if not waiter.done():
                    waiter.get_loop().call_soon_threadsafe(_hand_over, waiter, self)
                    return
            self._free += 1
            self._changed.notify()


def _hand_over(waiter: asyncio.Future[None], slots: Slots) -> None:
    # On the waiter's loop: the slot is its, unless it was cancelled meanwhile.
    if waiter.done():
        slots.give()
    else:
        waiter.set_result(None)
