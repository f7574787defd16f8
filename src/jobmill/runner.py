"""Running one claimed attempt: load params, call ``perform``, record the outcome.

Used by ``now``, ``execute_from_database``, ``testing.drain`` and the worker,
so an attempt runs the same way wherever it runs. The sync and async paths
differ only in how ``perform`` is invoked and how storage is awaited.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jobmill.clock import utcnow
from jobmill.context import AttemptContext
from jobmill.deadline import ThreadDeadline
from jobmill.errors import JobCancelled, JobTimeout
from jobmill.job import Job
from jobmill.outcomes import (
    Lock,
    Outcome,
    after_error,
    cancelled_on_request,
    completed,
    refused_by_database,
)
from jobmill.progress import Listener, ProgressReporter
from jobmill.records import JobMetadata
from jobmill.store import Store
from jobmill.store.errors import is_transient

logger = logging.getLogger("jobmill.runner")


@dataclass(frozen=True)
class Settled:
    """What happened to an attempt. ``final`` is the job as the outcome left it,
    None if its lock was lost (the outcome was discarded)."""

    record: JobMetadata
    outcome: Outcome
    data: Any
    exception: BaseException | None
    final: JobMetadata | None

    @property
    def recorded(self) -> bool:
        return self.final is not None


@dataclass(frozen=True, slots=True)
class Ended:
    """An attempt that has run and knows its outcome, not recorded yet."""

    context: AttemptContext
    outcome: Outcome
    data: Any
    exception: BaseException | None
    at: datetime


class Runner:
    """Runs attempts against one store: ``execute`` runs one and decides its
    outcome, ``settle`` records it; ``run`` does both."""

    # Whether an attempt whose caller is cancelled (``anow`` under a timeout)
    # is ended ``cancelled`` on the spot; else it stays running until its lock
    # expires. A worker releases its attempts itself before cancelling them.
    settles_abandoned = True

    def __init__(self, store: Store, progress_interval: float = 0.25) -> None:
        self.store = store
        self.progress_interval = progress_interval

    def context(
        self, record: JobMetadata, listeners: list[Listener] | None = None
    ) -> AttemptContext:
        lock = Lock.of(record)
        reporter = ProgressReporter(self.store, lock, self.progress_interval, listeners)
        return AttemptContext(record, self.store, reporter, lock)

    # sync ----------------------------------------------------------------

    def run(
        self,
        job_class: type[Job[Any, Any]],
        record: JobMetadata,
        context: AttemptContext | None = None,
        allow_retry: bool = True,
    ) -> Settled:
        return self.settle(self.execute(job_class, record, context, allow_retry))

    def execute(
        self,
        job_class: type[Job[Any, Any]],
        record: JobMetadata,
        context: AttemptContext | None = None,
        allow_retry: bool = True,
    ) -> Ended:
        """Run the attempt in this thread and decide how it ended."""
        context = context or self.context(record)
        job = job_class(context)
        data: Any = None
        try:
            if context.cancel_requested:
                # Asked to stop (or its lock lost) while it waited for a slot.
                raise JobCancelled("cancelled before it started")
            params = job_class.codec.load_params(record.params)
            timeout = _timeout(job_class, record)
            if job_class.is_async:
                _refuse_inside_event_loop(record)
                value = asyncio.run(self._ainvoke(job, params, context, timeout))
            else:
                value = _run_sync_with_deadline(job, params, context, timeout)
            data, stored = job_class.codec.encode_result(value)
            exception: BaseException | None = None
        except Exception as exc:
            exception, stored = exc, None
        except BaseException as exc:
            # Interrupted in the caller (Ctrl-C, SystemExit): end the attempt
            # cancelled rather than leave it running until its lock expires.
            context.request_cancel()
            self.settle(_end(job, context, None, None, exc, allow_retry=False))
            raise
        return _end(job, context, data, stored, exception, allow_retry)

    def settle(self, ended: Ended) -> Settled:
        """Record the attempt's outcome under its lock (and say so in the log)."""
        context, outcome = ended.context, ended.outcome
        record = context.record
        final = self.record_outcome(context, outcome, ended.at)
        log_settled(record, outcome, ended.exception, recorded=final is not None)
        return Settled(record, outcome, ended.data, ended.exception, final)

    def record_outcome(
        self, context: AttemptContext, outcome: Outcome, now: datetime
    ) -> JobMetadata | None:
        """Write the attempt's outcome under its lock; the job as it now stands,
        or None if fenced out."""
        record, lock = context.record, Lock.of(context.record)
        try:
            return self.store.record_outcome(lock, outcome, now)
        except Exception as exc:
            if is_transient(exc):
                raise
            logger.exception("the outcome of %s %s could not be stored", record.job_name, record.id)
            return self.store.record_outcome(lock, refused_by_database(exc), now)

    # async ---------------------------------------------------------------

    async def arun(
        self,
        job_class: type[Job[Any, Any]],
        record: JobMetadata,
        context: AttemptContext | None = None,
        allow_retry: bool = True,
    ) -> Settled:
        ended = await self.aexecute(job_class, record, context, allow_retry)
        return await asyncio.to_thread(self.settle, ended)

    async def aexecute(
        self,
        job_class: type[Job[Any, Any]],
        record: JobMetadata,
        context: AttemptContext | None = None,
        allow_retry: bool = True,
    ) -> Ended:
        """Run the attempt on this event loop and decide how it ended."""
        context = context or self.context(record)
        job = job_class(context)
        data: Any = None
        try:
            if context.cancel_requested:
                raise JobCancelled("cancelled before it started")
            params = job_class.codec.load_params(record.params)
            value = await self._ainvoke(job, params, context, _timeout(job_class, record))
            data, stored = job_class.codec.encode_result(value)
            exception: BaseException | None = None
        except (Exception, asyncio.CancelledError) as exc:
            if isinstance(exc, asyncio.CancelledError) and not context.cancel_requested:
                self._abandon(job, context, exc)
                raise  # the caller itself is being cancelled, not only the job
            exception, stored = exc, None
        if context.reporter.flushing:
            # A progress write is in flight: wait for it off the loop.
            return await asyncio.to_thread(_end, job, context, data, stored, exception, allow_retry)
        return _end(job, context, data, stored, exception, allow_retry)

    def _abandon(
        self, job: Job[Any, Any], context: AttemptContext, exc: asyncio.CancelledError
    ) -> None:
        if self.settles_abandoned:
            # Written here, on the loop: a cancelled task cannot reliably await.
            context.request_cancel()
            self.settle(_end(job, context, None, None, exc, allow_retry=False))

    async def _ainvoke(
        self, job: Job[Any, Any], params: Any, context: AttemptContext, timeout: float | None
    ) -> Any:
        if not type(job).is_async:
            return await asyncio.to_thread(_run_sync_with_deadline, job, params, context, timeout)
        task = asyncio.ensure_future(job.perform(params))
        context.attach_task(task)
        try:
            return await asyncio.wait_for(task, timeout)
        except TimeoutError:
            task.cancel()
            raise JobTimeout(f"timed out after {timeout:g} s") from None


def _end(
    job: Job[Any, Any],
    context: AttemptContext,
    data: Any,
    stored: Any,
    exception: BaseException | None,
    allow_retry: bool,
) -> Ended:
    """How the attempt ended, with the progress updates not yet written."""
    record = context.record
    now = utcnow()
    context.settling = True
    cancelled = context.cancel_requested and not context.timed_out
    with context.reporter.closing() as progress:
        if exception is None and cancelled:
            # Cancelled while running: the job stopped early at the request,
            # so what it returned is not a completion.
            outcome = cancelled_on_request(progress)
        elif exception is None:
            outcome = completed(stored, progress)
        else:
            outcome = after_error(
                job,
                exception,
                record.attempts,
                record.max_attempts,
                now,
                progress,
                cancelled=cancelled,
                allow_retry=allow_retry,
            )
    return Ended(context, outcome, data, exception, now)


def log_settled(
    record: JobMetadata, outcome: Outcome, exception: BaseException | None, recorded: bool
) -> None:
    """The log line of an attempt whose outcome was written (or fenced out)."""
    if not recorded:
        logger.warning(
            "late result of %s %s attempt %d discarded: its lock was taken over",
            record.job_name,
            record.id,
            record.attempts,
        )
    elif exception is not None:
        logger.info(
            "%s %s attempt %d: %s", record.job_name, record.id, record.attempts, outcome.error
        )


def _timeout(job_class: type[Job[Any, Any]], record: JobMetadata) -> float | None:
    return record.timeout if record.timeout is not None else job_class.timeout


def _run_sync_with_deadline(
    job: Job[Any, Any], params: Any, context: AttemptContext, timeout: float | None
) -> Any:
    with ThreadDeadline(timeout, context.mark_timed_out) as deadline:
        context.attach_deadline(deadline)
        try:
            return job.perform(params)
        finally:
            context.attach_deadline(None)


def _refuse_inside_event_loop(record: JobMetadata) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        f"{record.job_name} is async and an event loop is running here: use the `a`-prefixed call"
    )
