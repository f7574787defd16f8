"""What a measured system provides: a fresh database, an enqueuing client and
the command line of its worker. ``bench.workload`` does the rest, the same
way for every system."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import signal
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path


class Peer(abc.ABC):
    """One system on one database. Subclasses set the class attributes."""

    system: str
    backend: str
    package: str  # the distribution, for its version
    default_detail: str  # how the default worker runs
    tuned_detail: str  # what "tuned" means for it, from its documentation
    bulk_api: str | None  # the bulk enqueue call, or None when there is none
    stop_signal: int = signal.SIGTERM

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.env: dict[str, str] = {}  # set by ``database()`` for client and worker

    @property
    def version(self) -> str:
        return metadata.version(self.package)

    @abc.abstractmethod
    def database(self) -> contextlib.AbstractContextManager[None]:
        """A fresh, empty database with the system's schema, for one measurement."""

    @abc.abstractmethod
    def worker_command(self, tuned: bool) -> list[str]:
        """The worker process, as its documentation deploys it."""

    @abc.abstractmethod
    def timed_singles(self, ns: Sequence[int]) -> float:
        """Seconds to enqueue job ``n`` for each of ``ns``, one call each."""

    @abc.abstractmethod
    def timed_bulk(self, ns: Sequence[int]) -> float:
        """Seconds to enqueue all of ``ns`` with the bulk call (singles when none)."""

    @abc.abstractmethod
    def paced(self, ns: Sequence[int], interval: float) -> dict[int, float]:
        """Enqueue ``ns`` one by one ``interval`` seconds apart; the time of each call."""


class SyncPeer(Peer):
    """A system enqueued from plain (blocking) code."""

    @abc.abstractmethod
    def client(self) -> contextlib.AbstractContextManager[None]:
        """Whatever enqueuing needs open (an app, a configured store)."""

    @abc.abstractmethod
    def enqueue_one(self, n: int) -> None: ...

    def enqueue_many(self, ns: Sequence[int]) -> None:
        for n in ns:
            self.enqueue_one(n)

    def timed_singles(self, ns: Sequence[int]) -> float:
        with self.client():
            start = time.perf_counter()
            for n in ns:
                self.enqueue_one(n)
            return time.perf_counter() - start

    def timed_bulk(self, ns: Sequence[int]) -> float:
        with self.client():
            start = time.perf_counter()
            self.enqueue_many(ns)
            return time.perf_counter() - start

    def paced(self, ns: Sequence[int], interval: float) -> dict[int, float]:
        calls = {}
        with self.client():
            begin = time.monotonic()
            for i, n in enumerate(ns):
                time.sleep(max(0.0, begin + i * interval - time.monotonic()))
                calls[n] = time.time()
                self.enqueue_one(n)
        return calls


class AsyncPeer(Peer):
    """A system whose client is asyncio: each loop runs inside one event loop."""

    @abc.abstractmethod
    def aclient(self) -> contextlib.AbstractAsyncContextManager[None]: ...

    @abc.abstractmethod
    async def aenqueue_one(self, n: int) -> None: ...

    async def aenqueue_many(self, ns: Sequence[int]) -> None:
        for n in ns:
            await self.aenqueue_one(n)

    def timed_singles(self, ns: Sequence[int]) -> float:
        async def loop() -> float:
            async with self.aclient():
                start = time.perf_counter()
                for n in ns:
                    await self.aenqueue_one(n)
                return time.perf_counter() - start

        return asyncio.run(loop())

    def timed_bulk(self, ns: Sequence[int]) -> float:
        async def loop() -> float:
            async with self.aclient():
                start = time.perf_counter()
                await self.aenqueue_many(ns)
                return time.perf_counter() - start

        return asyncio.run(loop())

    def paced(self, ns: Sequence[int], interval: float) -> dict[int, float]:
        async def loop() -> dict[int, float]:
            calls = {}
            async with self.aclient():
                begin = time.monotonic()
                for i, n in enumerate(ns):
                    await asyncio.sleep(max(0.0, begin + i * interval - time.monotonic()))
                    calls[n] = time.time()
                    await self.aenqueue_one(n)
            return calls

        return asyncio.run(loop())
