"""The claim loop: claim ready jobs into free slots and run them.

Sync jobs run on a thread pool, async jobs on the event loop, both through
the one ``Runner``. Claims are batched up to the number of free slots; on
SQLite a read looks for ready work before the write lock is taken.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from jobmill.job import Job
from jobmill.keeper import LockKeeper
from jobmill.outcomes import Lock
from jobmill.records import JobMetadata
from jobmill.states import JobStatus
from jobmill.store import Store
from jobmill.worker.attempts import RunningAttempt
from jobmill.worker.errors import ErrorStreak
from jobmill.worker.execution import WorkerRunner
from jobmill.worker.wakeup import Waker

logger = logging.getLogger("jobmill.worker")

# After a cancelled async job is asked to stop at shutdown, how long to let it unwind.
UNWIND_SECONDS = 1.0


class ClaimLoop:
    """Claims and runs jobs for one worker until told to stop."""

    def __init__(
        self,
        store: Store,
        worker_id: str,
        job_classes: dict[str, type[Job[Any, Any]]],
        *,
        queues: Sequence[str] | None,
        concurrency: int,
        lock_timeout: float,
        poll_interval: float,
        progress_interval: float,
        burst: bool,
        waker: Waker,
    ) -> None:
        self.store = store
        self.worker_id = worker_id
        self.job_classes = job_classes
        self.job_names = sorted(job_classes)
        self.queues = list(queues) if queues else None
        self.concurrency = concurrency
        self.lock_timeout = lock_timeout
        self.poll_interval = poll_interval
        self.burst = burst
        self.waker = waker
        # The attempts running here; the heartbeat keeps their locks alive.
        self.keeper: LockKeeper[RunningAttempt] = LockKeeper(store, lock_timeout)
        self.runner = WorkerRunner(store, progress_interval)
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="jobmill-job")
        self.processed = 0
        self.abandoned = 0
        self._claims = ErrorStreak("claiming jobs", logger)
        self._retry_in = 0.0
        self._needs_reconcile = False

    # claiming -------------------------------------------------------------

    async def run(self, stopping: asyncio.Event) -> None:
        """Until ``stopping`` is set; in burst mode also until nothing is ready or running."""
        look_first = True
        while not stopping.is_set():
            free = self.concurrency - len(self.keeper)
            claimed = await self._claim(free, look_first) if free > 0 else []
            if claimed is None:
                await self.waker.wait(self._retry_in)
                continue
            for record in claimed:
                self._start(record)
            if self.burst and not claimed and not len(self.keeper):
                return
            # A full batch suggests more work is ready: claim again without looking.
            look_first = len(claimed) < free
            await self.waker.wait(self.poll_interval)

    async def _claim(self, limit: int, look_first: bool) -> list[JobMetadata] | None:
        """Up to ``limit`` claimed jobs, or None after a database error."""
        try:
            if self._needs_reconcile:
                await asyncio.to_thread(self.reconcile)
            if look_first and not await asyncio.to_thread(
                self.store.has_ready_jobs, self.queues, self.job_names
            ):
                claimed: list[JobMetadata] = []
            else:
                claimed = await asyncio.to_thread(
                    self.store.claim_jobs,
                    self.worker_id,
                    limit,
                    self.lock_timeout,
                    self.queues,
                    self.job_names,
                )
        except Exception as exc:
            # A claim may have committed without its answer reaching us.
            self._needs_reconcile = True
            self._retry_in = self._claims.failed(exc)
            return None
        self._claims.succeeded()
        return claimed

    def reconcile(self) -> None:
        """Release jobs locked by this worker that it is not running (a claim whose
        answer was lost, an outcome that could not be written)."""
        held = {attempt.lock for attempt in self.keeper.snapshot()}
        for record in self.store.jobs_locked_by(self.worker_id):
            lock = Lock.of(record)
            if lock not in held and self.store.release(lock):
                logger.warning(
                    "released %s %s: this worker held its lock without running it",
                    record.job_name,
                    record.id,
                )
        self._needs_reconcile = False

    # running --------------------------------------------------------------

    def _start(self, record: JobMetadata) -> None:
        job_class = self.job_classes[record.job_name]
        context = self.runner.context(record)
        attempt = RunningAttempt(record, job_class, context)
        self.keeper.add(attempt)
        future: asyncio.Future[Any]
        if job_class.is_async:
            future = asyncio.ensure_future(self.runner.arun(job_class, record, context))
        else:
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(self.pool, self.runner.run, job_class, record, context)
        attempt.future = future
        future.add_done_callback(partial(self._done, attempt))

    def _done(self, attempt: RunningAttempt, future: asyncio.Future[Any]) -> None:
        if not self.keeper.remove(attempt):
            return  # released at shutdown
        self.processed += 1
        record = attempt.record
        exc = None if future.cancelled() else future.exception()
        if exc is not None:
            logger.error(
                "%s %s attempt %d: its outcome could not be recorded; it will run again",
                record.job_name,
                record.id,
                record.attempts,
                exc_info=exc,
            )
            self._needs_reconcile = True
        elif not future.cancelled() and (final := future.result().final) is not None:
            # As stored: an outcome the database refused was replaced by a failure.
            ended = str(final.status)
            if final.status is JobStatus.PENDING:
                ended = f"failed, retry at {final.run_at:%H:%M:%S} UTC"
            logger.info(
                "%s %s attempt %d ran %.3f s: %s",
                record.job_name,
                record.id,
                record.attempts,
                time.monotonic() - attempt.started,
                ended,
            )
        self.waker.wake()

    # stopping -------------------------------------------------------------

    async def wind_down(self, grace: float) -> None:
        """Let running jobs finish for ``grace`` seconds, then release the rest to pending."""
        futures = [attempt.future for attempt in self.keeper.snapshot() if attempt.future]
        if futures and grace > 0:
            logger.info("waiting up to %g s for %d running jobs", grace, len(futures))
            await asyncio.wait(futures, timeout=grace)
        leftovers = self.keeper.snapshot()
        if not leftovers:
            return
        released = await asyncio.to_thread(self.release, leftovers)
        unwinding = []
        for attempt in released:
            assert attempt.future is not None
            if attempt.job_class.is_async:
                attempt.future.cancel()
                unwinding.append(attempt.future)
            else:
                # A thread cannot be stopped: a sync job sees cancel_requested,
                # and whatever it returns is fenced out.
                attempt.context.request_cancel()
        if unwinding:
            await asyncio.wait(unwinding, timeout=UNWIND_SECONDS)
        self.abandoned = sum(1 for future in futures if not future.done())

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
        self.pool.shutdown(wait=False, cancel_futures=True)
