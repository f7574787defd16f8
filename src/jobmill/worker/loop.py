"""The claim loop: jobs claimed by the pump run here, and their outcomes go back
to it to be written.

Sync jobs run on ``concurrency`` threads that take claimed attempts from a
local queue; async jobs run as tasks on the worker's event loop. Both share
the worker's ``Slots``, so at most ``concurrency`` attempts run at once, and
neither passes through the other's machinery: a sync job costs no event-loop
round trip. The pump keeps up to ``concurrency + prefetch`` jobs claimed, so
a slot that frees finds its next job waiting.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Sequence
from functools import partial
from typing import Any

from jobmill.job import Job
from jobmill.keeper import LockKeeper
from jobmill.outcomes import Lock, Outcome
from jobmill.records import JobMetadata
from jobmill.runner import Ended, Runner, log_settled
from jobmill.states import JobStatus
from jobmill.store import Store
from jobmill.worker.attempts import RunningAttempt
from jobmill.worker.pump import Finished, Pump
from jobmill.worker.slots import Slots

logger = logging.getLogger("jobmill.worker")

# After a cancelled async job is asked to stop at shutdown, how long to let it unwind.
UNWIND_SECONDS = 1.0


class WorkerRunner(Runner):
    """The worker's runner: it releases its attempts itself before cancelling them."""

    settles_abandoned = False


class ClaimLoop:
    """Runs the jobs one worker claims until told to stop."""

    def __init__(
        self,
        store: Store,
        worker_id: str,
        job_classes: dict[str, type[Job[Any, Any]]],
        *,
        queues: Sequence[str] | None,
        concurrency: int,
        prefetch: int | None,
        lock_timeout: float,
        poll_interval: float,
        progress_interval: float,
        burst: bool,
    ) -> None:
        self.store = store
        self.worker_id = worker_id
        self.job_classes = job_classes
        self.concurrency = concurrency
        self.burst = burst
        # The attempts claimed here; the heartbeat keeps their locks alive.
        self.keeper: LockKeeper[RunningAttempt] = LockKeeper(store, lock_timeout)
        self.runner = WorkerRunner(store, progress_interval)
        self.slots = Slots(concurrency)
        # Sync jobs alone never run more than ``concurrency`` at once: they have
        # that many threads. Only beside async jobs do they take a slot (a lock
        # every thread would contend for on every job).
        self._threads_take_slots = any(cls.is_async for cls in job_classes.values())
        self.pump = Pump(
            store,
            worker_id,
            job_names=sorted(job_classes),
            queues=queues,
            concurrency=concurrency,
            prefetch=prefetch,
            lock_timeout=lock_timeout,
            poll_interval=poll_interval,
            on_claimed=self._claimed,
            on_drained=self._drained,
            held_locks=self.held_locks,
        )
        self.processed = 0
        self.abandoned = 0
        self._waiting: queue.SimpleQueue[RunningAttempt | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._serve_sync, name=f"jobmill-job-{n}", daemon=True)
            for n in range(concurrency)
        ]
        self._accepting = True
        self._mutex = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._empty: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        """Jobs were enqueued: claim at once (callable from any thread)."""
        self.pump.wake()

    async def run(self, stopping: asyncio.Event) -> None:
        """Until ``stopping`` is set; in burst mode also until nothing is ready or running."""
        self._loop = asyncio.get_running_loop()
        self._empty = asyncio.Event()
        for thread in self._threads:
            thread.start()
        self.pump.start()
        waits = [asyncio.ensure_future(stopping.wait())]
        if self.burst:
            waits.append(asyncio.ensure_future(self._empty.wait()))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()

    def _drained(self) -> None:
        # From the pump: a claim found nothing and nothing is running.
        loop, empty = self._loop, self._empty
        if loop is not None and empty is not None and not loop.is_closed():
            loop.call_soon_threadsafe(empty.set)

    # starting attempts ------------------------------------------------------

    def _claimed(self, records: list[JobMetadata]) -> None:
        """From the pump: jobs claimed for this worker, to start as slots free."""
        tasks = []
        for record in records:
            job_class = self.job_classes[record.job_name]
            attempt = RunningAttempt(record, job_class, self.runner.context(record))
            self.keeper.add(attempt)
            if job_class.is_async:
                tasks.append(attempt)
            else:
                self._waiting.put(attempt)
        if tasks:
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self._start_tasks, tasks)

    def _begin(self, attempt: RunningAttempt) -> bool:
        """Mark the attempt started, unless the worker is stopping (then the
        caller gives it back to pending)."""
        with self._mutex:
            if self._accepting:
                attempt.started = time.monotonic()
            return self._accepting

    def _serve_sync(self) -> None:
        take_slot = self._threads_take_slots
        while (attempt := self._waiting.get()) is not None:
            if take_slot:
                self.slots.take()
            try:
                if self._begin(attempt):
                    self._execute(attempt)
                else:
                    self._give_back(attempt)
            finally:
                if take_slot:
                    self.slots.give()

    def _execute(self, attempt: RunningAttempt) -> None:
        try:
            ended = self.runner.execute(attempt.job_class, attempt.record, attempt.context)
        except Exception:
            logger.exception("running %s %s failed", attempt.record.job_name, attempt.record.id)
            self.pump.forget(reconcile=True)
            return
        self._finish(attempt, ended)

    def _start_tasks(self, attempts: list[RunningAttempt]) -> None:
        for attempt in attempts:
            task = asyncio.ensure_future(self._serve_async(attempt))
            attempt.task = task
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _serve_async(self, attempt: RunningAttempt) -> None:
        try:
            await self.slots.atake()
        except asyncio.CancelledError:
            await asyncio.to_thread(self._give_back, attempt)  # stopping before it started
            return
        try:
            if not self._begin(attempt):
                await asyncio.to_thread(self._give_back, attempt)
                return
            record, context = attempt.record, attempt.context
            try:
                ended = await self.runner.aexecute(attempt.job_class, record, context)
            except asyncio.CancelledError:
                return  # released at shutdown, then cancelled
            except Exception:
                logger.exception("running %s %s failed", record.job_name, record.id)
                self.pump.forget(reconcile=True)
                return
            self._finish(attempt, ended)
        finally:
            self.slots.give()

    # ending attempts --------------------------------------------------------

    def _finish(self, attempt: RunningAttempt, ended: Ended) -> None:
        self.pump.finish(Finished(attempt.lock, ended, partial(self._written, attempt, ended)))

    def _written(self, attempt: RunningAttempt, ended: Ended, stored: Outcome | None) -> None:
        # From the pump, once the outcome is in the database (or fenced out).
        if not self.keeper.remove(attempt):
            return  # released at shutdown
        self.processed += 1
        record = attempt.record
        log_settled(record, stored or ended.outcome, ended.exception, stored is not None)
        if stored is not None and logger.isEnabledFor(logging.DEBUG):
            # As stored: an outcome the database refused was replaced by a failure.
            status = stored.status.value
            if stored.status is JobStatus.PENDING and stored.retry_at is not None:
                status = f"failed, retry at {stored.retry_at:%H:%M:%S} UTC"
            logger.debug(
                "%s %s attempt %d ran %.3f s: %s",
                record.job_name,
                record.id,
                record.attempts,
                time.monotonic() - (attempt.started or time.monotonic()),
                status,
            )

    def _give_back(self, attempt: RunningAttempt) -> None:
        """Release a claimed attempt that never started (the worker is stopping)."""
        self.release([attempt])
        self.pump.forget(reconcile=False)

    # stopping -------------------------------------------------------------

    async def wind_down(self, grace: float) -> None:
        """Give back what has not started, let running jobs finish for ``grace``
        seconds, then release the rest to pending."""
        with self._mutex:
            self._accepting = False
        self.pump.stop_claiming()
        await asyncio.to_thread(self._release_waiting)
        for _ in self._threads:
            self._waiting.put(None)
        for attempt in self.keeper.snapshot():
            if attempt.started is None and attempt.task is not None:
                attempt.task.cancel()
        running = self.pump.in_flight
        if running and grace > 0:
            logger.info("waiting up to %g s for %d running jobs", grace, running)
        await asyncio.to_thread(self.pump.wait_idle, grace)
        leftovers = [a for a in self.keeper.snapshot() if a.started is not None]
        if not leftovers:
            return
        released = await asyncio.to_thread(self.release, leftovers)
        unwinding = []
        for attempt in released:
            if attempt.task is not None:
                attempt.task.cancel()
                unwinding.append(attempt.task)
            else:
                # A thread cannot be stopped: a sync job sees cancel_requested,
                # and whatever it returns is fenced out.
                attempt.context.request_cancel()
                self.abandoned += 1
        if unwinding:
            await asyncio.wait(unwinding, timeout=UNWIND_SECONDS)

    def _release_waiting(self) -> None:
        # Sync attempts still queued when the threads were told to stop.
        while True:
            try:
                attempt = self._waiting.get_nowait()
            except queue.Empty:
                return
            if attempt is not None:
                self._give_back(attempt)

    def release(self, attempts: Sequence[RunningAttempt]) -> list[RunningAttempt]:
        """Give these attempts' jobs back to pending; returns those released."""
        released = []
        for attempt in attempts:
            record = attempt.record
            try:
                done = self.store.release(attempt.lock)
            except Exception as exc:
                logger.warning(
                    "could not release %s %s (%s); it will be rescued when its lock expires",
                    record.job_name,
                    record.id,
                    exc,
                )
                continue
            if done:
                attempt.context.lock_lost = True
                self.keeper.remove(attempt)
                released.append(attempt)
                logger.info("released %s %s back to pending", record.job_name, record.id)
        return released

    def close(self) -> None:
        self.pump.stop()

    def held_locks(self) -> set[Lock]:
        return {attempt.lock for attempt in self.keeper.snapshot()}
