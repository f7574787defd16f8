"""``jobmill.Worker``: runs queued jobs in the background until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from jobmill import registry
from jobmill.clock import utcnow
from jobmill.errors import ConfigurationError
from jobmill.job import Job
from jobmill.runtime import get_settings, get_store
from jobmill.store import Store
from jobmill.worker.cron import run_cron_scheduler
from jobmill.worker.errors import ErrorStreak, is_transient
from jobmill.worker.heartbeat import STALE_WORKER_AFTER, Heartbeat
from jobmill.worker.loop import ClaimLoop
from jobmill.worker.signals import StopSignals
from jobmill.worker.wakeup import Waker

logger = logging.getLogger("jobmill.worker")

# On a second signal, how long releasing the running jobs may delay the exit.
ABORT_RELEASE_SECONDS = 2.0
ABORT_EXIT_CODE = 1

T = TypeVar("T")


def new_worker_id() -> str:
    return f"worker:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Claims queued jobs and runs them: sync jobs on a thread pool, async jobs on
    an event loop, with heartbeats, rescue of dead workers' jobs and retries.

    Options left None come from the settings (``concurrency``, ``prefetch``,
    ``lock_timeout``, ``poll_interval``, ``grace_period``, ``imports``).
    ``prefetch`` is how many jobs it keeps claimed beyond those running, so a
    slot that frees never waits on the database; left None, the worker keeps
    enough for two of its rounds at the pace jobs finish (``concurrency`` at
    least, for short jobs up to 500). ``burst`` runs until no
    job is ready and none is running. ``scheduler`` runs the cron scheduler too.

    Example::

        jobmill.Worker(queues=["mail"], concurrency=4).run()   # until SIGTERM/SIGINT
        await jobmill.Worker(burst=True).arun()                # until the queue is empty
    """

    def __init__(
        self,
        queues: Sequence[str] | str | None = None,
        *,
        concurrency: int | None = None,
        prefetch: int | None = None,
        burst: bool = False,
        scheduler: bool = True,
        imports: Sequence[str] = (),
        lock_timeout: float | None = None,
        poll_interval: float | None = None,
        grace_period: float | None = None,
        handle_signals: bool = True,
        store: Store | None = None,
    ) -> None:
        settings = get_settings()
        self.queues = _check_queues(queues)
        self.concurrency = _count("concurrency", concurrency, settings.concurrency)
        chosen = settings.prefetch if prefetch is None else prefetch
        # None: paced by the worker (see the docstring).
        self.prefetch = None if chosen is None else _count("prefetch", chosen, 0, zero_ok=True)
        self.lock_timeout = _seconds("lock_timeout", lock_timeout, settings.lock_timeout)
        self.poll_interval = _seconds("poll_interval", poll_interval, settings.poll_interval)
        self.grace_period = _seconds(
            "grace_period", grace_period, settings.grace_period, zero_ok=True
        )
        self.burst = burst
        self.scheduler = scheduler
        self.imports = [*settings.imports, *imports]
        self.handle_signals = handle_signals
        self.id = new_worker_id()
        self._store = store
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._stop_requested = threading.Event()
        self._waker: Waker | None = None
        self._claims: ClaimLoop | None = None

    def run(self) -> None:
        """Run in this thread until stopped (signal, ``stop()``, or burst done)."""
        asyncio.run(self.arun())

    async def arun(self) -> None:
        """Run on the current event loop until stopped."""
        job_classes = self._load_jobs()
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        if self._stop_requested.is_set():
            self._stopping.set()
        signals = StopSignals(self.stop, self._abort)
        if self.handle_signals:
            signals.install(self._loop)
        try:
            store = await self._open_store()
            if store is not None:
                await self._serve(store, job_classes)
        finally:
            signals.remove()

    async def _serve(self, store: Store, job_classes: dict[str, type[Job[Any, Any]]]) -> None:
        assert self._loop is not None and self._stopping is not None
        self._claims = claims = ClaimLoop(
            store,
            self.id,
            job_classes,
            queues=self.queues,
            concurrency=self.concurrency,
            prefetch=self.prefetch,
            lock_timeout=self.lock_timeout,
            poll_interval=self.poll_interval,
            progress_interval=get_settings().progress_interval,
            burst=self.burst,
        )
        self._waker = waker = Waker(store, self.queues, claims.wake, self.poll_interval)
        heartbeat = Heartbeat(
            store,
            self.id,
            claims.keeper,
            register=lambda: self._register(store),
            on_rescued=claims.wake,
        )
        waker.start()
        await self._retry_until_stopped("registering the worker", self._register, store)
        heartbeat.start()
        cron = self._start_cron(store)
        logger.info(
            "worker %s started: queues %s, concurrency %d, %d jobs known",
            self.id,
            ",".join(self.queues) if self.queues else "(all)",
            self.concurrency,
            len(job_classes),
        )
        graceful = False
        try:
            await claims.run(self._stopping)
            graceful = True
        finally:
            await claims.wind_down(self.grace_period if graceful else 0.0)
            self._stopping.set()
            if cron is not None:
                await _finish(cron)
            waker.stop()
            await asyncio.to_thread(heartbeat.stop)
            await asyncio.to_thread(self._unregister, store)
            claims.close()
            logger.info("worker %s stopped after %d jobs", self.id, self.processed)

    @property
    def processed(self) -> int:
        """How many attempts this worker has run to their end."""
        return self._claims.processed if self._claims is not None else 0

    @property
    def abandoned_threads(self) -> int:
        """Sync jobs released at shutdown whose threads had not returned yet."""
        return self._claims.abandoned if self._claims is not None else 0

    def stop(self) -> None:
        """Stop claiming, let running jobs finish (within the grace period), then
        return from ``run``. Callable from any thread or a signal handler."""
        self._stop_requested.set()
        loop, stopping, waker = self._loop, self._stopping, self._waker
        if loop is None or stopping is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop already closed
            loop.call_soon_threadsafe(stopping.set)
        if waker is not None:
            waker.wake()

    # set-up and tear-down -----------------------------------------------

    def _load_jobs(self) -> dict[str, type[Job[Any, Any]]]:
        registry.import_job_modules(self.imports)
        job_classes = registry.registered()
        if not job_classes:
            raise ConfigurationError(
                "no jobs are registered, so this worker could run nothing: "
                "set `imports` (JOBMILL_IMPORTS) or pass --import MODULE"
            )
        return job_classes

    def _register(self, store: Store) -> None:
        now = utcnow()
        store.register_worker(
            self.id, socket.gethostname(), os.getpid(), self.queues, self.concurrency, now
        )
        store.prune_workers(now - STALE_WORKER_AFTER)

    async def _open_store(self) -> Store | None:
        """The store, opened once the database answers (None if stopped first)."""
        if self._store is not None:
            return self._store
        return await self._retry_until_stopped("opening the database", get_store)

    async def _retry_until_stopped(
        self, duty: str, action: Callable[..., T], *args: Any
    ) -> T | None:
        """``action(*args)`` in a thread, retried through database errors."""
        assert self._stopping is not None
        streak = ErrorStreak(duty, logger)
        while not self._stopping.is_set():
            try:
                result = await asyncio.to_thread(action, *args)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), streak.failed(exc))
            else:
                streak.succeeded()
                return result
        return None

    def _unregister(self, store: Store) -> None:
        try:
            store.unregister_worker(self.id)
        except Exception as exc:
            logger.warning("could not remove the row of worker %s: %s", self.id, exc)

    def _start_cron(self, store: Store) -> asyncio.Task[None] | None:
        if not self.scheduler:
            return None
        assert self._stopping is not None
        return asyncio.create_task(run_cron_scheduler(store, self.poll_interval, self._stopping))

    def _abort(self) -> None:
        """Second signal: give running jobs back to pending (briefly) and exit now."""
        claims = self._claims
        if claims is not None:
            releasing = threading.Thread(
                target=claims.release, args=(claims.keeper.snapshot(),), daemon=True
            )
            releasing.start()
            releasing.join(ABORT_RELEASE_SECONDS)
        for handler in logging.getLogger().handlers:
            handler.flush()
        sys.stderr.flush()
        os._exit(ABORT_EXIT_CODE)


async def _finish(task: asyncio.Task[None]) -> None:
    """Wait for a task told to stop; a crash there is logged, not raised."""
    try:
        await asyncio.wait_for(task, 5.0)
    except Exception:
        logger.exception("the cron scheduler did not stop cleanly")


def _check_queues(queues: Sequence[str] | str | None) -> list[str] | None:
    if queues is None:
        return None
    names = queues.split(",") if isinstance(queues, str) else list(queues)
    names = [name.strip() for name in names]
    if not names or not all(names):
        raise ValueError(f"queues must be non-empty queue names, got {queues!r}")
    return list(dict.fromkeys(names))


def _count(name: str, value: int | None, default: int, *, zero_ok: bool = False) -> int:
    chosen = default if value is None else value
    least = 0 if zero_ok else 1
    if isinstance(chosen, bool) or not isinstance(chosen, int) or chosen < least:
        raise ValueError(f"{name} must be an integer >= {least}, got {chosen!r}")
    return chosen


def _seconds(name: str, value: float | None, default: float, *, zero_ok: bool = False) -> float:
    chosen = default if value is None else value
    valid = isinstance(chosen, int | float) and not isinstance(chosen, bool)
    if not valid or chosen < 0 or (chosen == 0 and not zero_ok):
        expected = "a number of seconds >= 0" if zero_ok else "a positive number of seconds"
        raise ValueError(f"{name} must be {expected}, got {chosen!r}")
    return float(chosen)
