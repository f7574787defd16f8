"""Dispatching: ``now``, ``later``, ``later_many``, ``batch``, ``execute_from_database``.

``Dispatch`` pairs a job class with options (``J.set(...)``). Validation and
building rows happen once, without I/O; the sync and async twins differ
only where they touch the database or run the job.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar, Unpack

from jobmill import outcomes
from jobmill.actors import caller_worker_id
from jobmill.clock import as_seconds, utcnow
from jobmill.context import AttemptContext
from jobmill.errors import JobFailed, JobNotFound, JobStateError
from jobmill.ids import new_job_id
from jobmill.keeper import HeldAttempt, LockKeeper
from jobmill.options import Options, merge_options
from jobmill.outcomes import Lock
from jobmill.progress import Listener
from jobmill.records import JobMetadata, JobResult
from jobmill.runner import Runner, Settled
from jobmill.runtime import get_settings, get_store
from jobmill.states import JobStatus
from jobmill.store import NewJobs, Store

if TYPE_CHECKING:
    from jobmill.job import Job

P = TypeVar("P")
R = TypeVar("R")

# Set by ``jobmill.testing.inline()``: ``later`` runs the job at once.
inline_mode: contextvars.ContextVar[bool] = contextvars.ContextVar("jobmill_inline", default=False)

STOPPED_BY_BATCH = "not started: an earlier job in the batch failed (stop_on_error)"


@dataclass(frozen=True)
class JobStep:
    """A job described but not enqueued (``J.step(...)``), for ``jobmill.chain``."""

    dispatch: Dispatch[Any, Any]
    params: Any
    kwargs: Mapping[str, Any] = field(default_factory=dict)


class Dispatch(Generic[P, R]):
    """A job class with options set; offers every dispatch call."""

    def __init__(
        self,
        job_class: type[Job[P, R]],
        options: Options | None = None,
        listeners: tuple[Listener, ...] = (),
    ) -> None:
        self.job_class = job_class
        self.options: Options = options or {}
        self.listeners = listeners

    def set(self, **options: Unpack[Options]) -> Dispatch[P, R]:
        """These options on top of the current ones (chainable); see ``Options``."""
        merged = merge_options(self.options, options)
        return Dispatch(self.job_class, merged, self.listeners)

    def on_progress(self, *listeners: Listener) -> Dispatch[P, R]:
        """Also call ``listeners`` with each progress update of the jobs run here.

        Applies to ``now``, ``batch`` and ``execute_from_database`` (a worker
        runs what ``later`` stores). Listeners are called in the job's thread
        (its event loop for async jobs), so they must be quick::

            J.set().on_progress(lambda u: print(u.percent, u.message)).now(params)
        """
        return Dispatch(self.job_class, self.options, self.listeners + listeners)

    # Building rows (no I/O) ---------------------------------------------

    def build(
        self,
        params: Any,
        kwargs: Mapping[str, Any] | None = None,
        index: int | None = None,
        now: datetime | None = None,
    ) -> NewJobs:
        """Validate params and make the job to store; raises ``InvalidParams``."""
        codec = self.job_class.codec
        encoded = codec.encode_params(codec.coerce_params(params, kwargs, index), index)
        return self._new_jobs([new_job_id()], [encoded], now or utcnow())

    def build_many(self, items: Sequence[Any], now: datetime | None = None) -> NewJobs:
        """Validate every item's params and make the jobs to store; one invalid
        item raises ``InvalidParams`` naming its index."""
        codec = self.job_class.codec
        coerce, encode = codec.coerce_params, codec.encode_params
        params = [encode(coerce(item, None, index), index) for index, item in enumerate(items)]
        return self._new_jobs([new_job_id() for _ in params], params, now or utcnow())

    def _new_jobs(self, ids: list[str], params: list[str | None], now: datetime) -> NewJobs:
        cls, opts = self.job_class, self.options
        delay, priority, timeout = opts.get("delay"), opts.get("priority"), opts.get("timeout")
        run_at = opts.get("run_at") or (
            now + timedelta(seconds=as_seconds(delay)) if delay else None
        )
        return NewJobs(
            job_name=cls.job_name,
            queue=opts.get("queue") or cls.queue,
            priority=cls.priority if priority is None else priority,
            max_attempts=opts.get("max_attempts") or cls.max_attempts,
            timeout=cls.timeout if timeout is None else timeout,
            ids=ids,
            params=params,
            run_at=run_at,
            unique_key=opts.get("unique_key"),
            depends_on=tuple(opts.get("depends_on") or ()),
            enqueued_at=now,
        )

    def step(self, params: Any = None, /, **kwargs: Any) -> JobStep:
        self.build(params, kwargs)  # fail early on invalid params
        return JobStep(self, params, kwargs)

    # later ------------------------------------------------------------

    def later(self, params: P | Mapping[str, Any] | None = None, /, **kwargs: Any) -> str:
        """Store a pending job; returns its id (an existing one's for a duplicate unique_key)."""
        [job_id] = self._store_jobs(self.build(params, kwargs))
        return job_id

    async def alater(self, params: P | Mapping[str, Any] | None = None, /, **kwargs: Any) -> str:
        new_jobs = self.build(params, kwargs)
        [job_id] = await asyncio.to_thread(self._store_jobs, new_jobs)
        return job_id

    def later_many(self, items: Sequence[P | Mapping[str, Any]]) -> list[str]:
        """Store many jobs in one transaction; one invalid item stores none."""
        return self._store_jobs(self.build_many(items))

    async def alater_many(self, items: Sequence[P | Mapping[str, Any]]) -> list[str]:
        new_jobs = self.build_many(items)
        return await asyncio.to_thread(self._store_jobs, new_jobs)

    def _build_each(self, items: Sequence[Any]) -> list[NewJobs]:
        now = utcnow()
        return [self.build(item, index=i, now=now) for i, item in enumerate(items)]

    def _store_jobs(self, new_jobs: NewJobs) -> list[str]:
        store = get_store()
        connection = self.options.get("connection")
        ids = store.enqueue([new_jobs], connection=connection)
        # A job enqueued on the caller's connection exists only once the caller
        # commits: running it now would wait on the caller's own write lock
        # (SQLite) or not find it (PostgreSQL). ``drain()`` runs it later.
        if inline_mode.get() and connection is None:
            for job_id in ids:
                _run_inline(self.job_class, store, job_id)
        return ids

    # now ----------------------------------------------------------------

    def now(self, params: P | Mapping[str, Any] | None = None, /, **kwargs: Any) -> JobResult[R]:
        """Run here, once, recorded in the jobs table; raises ``JobFailed`` on failure."""
        self._refuse_dependencies("now")
        return _raise_on_failure(self._run_now(self.build(params, kwargs)))

    async def anow(
        self, params: P | Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> JobResult[R]:
        self._refuse_dependencies("anow")
        return _raise_on_failure(await self._arun_now(self.build(params, kwargs)))

    def _refuse_dependencies(self, call: str) -> None:
        # A job run in the caller starts at once: it cannot wait for others.
        depends_on = self.options.get("depends_on")
        if depends_on:
            raise ValueError(
                f"depends_on: {call}() runs the job at once and cannot wait for "
                f"{', '.join(depends_on)}; use later() and a worker"
            )

    def _start_now(self, new_job: NewJobs) -> tuple[Store, JobMetadata]:
        store, settings = get_store(), get_settings()
        record = store.start_job(new_job, caller_worker_id("now"), settings.lock_timeout)
        return store, record

    def _run_now(self, new_job: NewJobs) -> tuple[JobResult[R], Settled]:
        store, record = self._start_now(new_job)
        return _run_held(self.job_class, store, record, allow_retry=False, listeners=self.listeners)

    async def _arun_now(self, new_job: NewJobs) -> tuple[JobResult[R], Settled]:
        start = _Start(self._start_now, new_job)
        try:
            store, record = await asyncio.to_thread(start.run)
        except asyncio.CancelledError:
            start.abandon()
            raise
        return await _arun_held(
            self.job_class, store, record, allow_retry=False, listeners=self.listeners
        )

    # batch --------------------------------------------------------------

    def batch(
        self,
        items: Sequence[P | Mapping[str, Any]],
        *,
        concurrency: int = 5,
        stop_on_error: bool = False,
    ) -> list[JobResult[R]]:
        """Run every item now, at most ``concurrency`` at once; results in input order."""
        self._refuse_dependencies("batch")
        new_jobs = self._build_each(items)
        stopped = False

        def run_one(new_job: NewJobs) -> JobResult[R]:
            nonlocal stopped
            if stopped:
                return self._record_not_started(new_job)
            result, _ = self._run_now(new_job)
            stopped = stopped or (stop_on_error and not result.ok)
            return result

        with ThreadPoolExecutor(max_workers=_positive(concurrency)) as pool:
            return list(pool.map(run_one, new_jobs))

    async def abatch(
        self,
        items: Sequence[P | Mapping[str, Any]],
        *,
        concurrency: int = 5,
        stop_on_error: bool = False,
    ) -> list[JobResult[R]]:
        self._refuse_dependencies("abatch")
        new_jobs = self._build_each(items)
        gate = asyncio.Semaphore(_positive(concurrency))
        stopped = False

        async def run_one(new_job: NewJobs) -> JobResult[R]:
            nonlocal stopped
            async with gate:
                if stopped:
                    return await asyncio.to_thread(self._record_not_started, new_job)
                result, _ = await self._arun_now(new_job)
                stopped = stopped or (stop_on_error and not result.ok)
                return result

        return list(await asyncio.gather(*(run_one(job) for job in new_jobs)))

    def _record_not_started(self, new_job: NewJobs) -> JobResult[R]:
        return JobResult(None, get_store().skip_job(new_job, STOPPED_BY_BATCH), STOPPED_BY_BATCH)

    # execute_from_database ------------------------------------------------

    def execute_from_database(self, job_id: str) -> JobResult[R]:
        """Claim that pending job like a worker would and run it here."""
        store, record = self._claim(job_id)
        result, _ = _run_held(
            self.job_class, store, record, allow_retry=True, listeners=self.listeners
        )
        return result

    async def aexecute_from_database(self, job_id: str) -> JobResult[R]:
        store, record = await asyncio.to_thread(self._claim, job_id)
        result, _ = await _arun_held(
            self.job_class, store, record, allow_retry=True, listeners=self.listeners
        )
        return result

    def _claim(self, job_id: str) -> tuple[Store, JobMetadata]:
        store, settings = get_store(), get_settings()
        current = store.get_job(job_id)
        if current.job_name != self.job_class.job_name:
            raise JobStateError(
                f"job {current.id} is a {current.job_name}, not a {self.job_class.job_name}"
            )
        record = store.claim_job(current.id, caller_worker_id("exec"), settings.lock_timeout)
        if record is None:
            raise _not_claimable(store, current.id)
        return store, record


def chain(*steps: JobStep) -> list[str]:
    """Enqueue steps in one transaction, each depending on the previous; returns ids.

    ``jobmill.chain(Fetch.step(url=u), Parse.step(), Store.step())``
    """
    if not steps:
        raise ValueError("chain needs at least one step")
    new_jobs: list[NewJobs] = []
    previous: Sequence[str] = ()
    for step in steps:
        built = step.dispatch.set(depends_on=previous).build(step.params, step.kwargs)
        new_jobs.append(built)
        previous = [built.id]
    connection = steps[0].dispatch.options.get("connection")
    return get_store().enqueue(new_jobs, connection=connection)


class _Start:
    """Stores a ``now`` job's running row in a thread for an async caller.

    The row is stored even if the caller is cancelled meanwhile; whichever of
    the thread and the caller comes second ends it cancelled, so it is never
    left running until its lock expires.
    """

    def __init__(
        self, start: Callable[[NewJobs], tuple[Store, JobMetadata]], new_job: NewJobs
    ) -> None:
        self._start, self._new_job = start, new_job
        self._mutex = threading.Lock()
        self._started: tuple[Store, JobMetadata] | None = None
        self._abandoned = False

    def run(self) -> tuple[Store, JobMetadata]:
        started = self._start(self._new_job)
        with self._mutex:
            self._started, abandoned = started, self._abandoned
        if abandoned:
            _end_abandoned(*started)
        return started

    def abandon(self) -> None:
        with self._mutex:
            self._abandoned, started = True, self._started
        if started is not None:
            _end_abandoned(*started)


def _end_abandoned(store: Store, record: JobMetadata) -> None:
    store.record_outcome(Lock.of(record), outcomes.abandoned_at_start())


def _positive(concurrency: int) -> int:
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency}")
    return concurrency


@contextmanager
def _held(
    store: Store, record: JobMetadata, listeners: Sequence[Listener]
) -> Iterator[tuple[Runner, AttemptContext]]:
    """A runner and attempt context, with the caller's lock kept alive meanwhile."""
    keeper = LockKeeper.for_store(store, get_settings().lock_timeout)
    runner = Runner(store, get_settings().progress_interval)
    held = HeldAttempt(runner.context(record, list(listeners)))
    keeper.add(held)
    try:
        yield runner, held.context
    finally:
        keeper.remove(held)


def _run_held(
    job_class: type[Job[Any, R]],
    store: Store,
    record: JobMetadata,
    allow_retry: bool,
    listeners: Sequence[Listener] = (),
) -> tuple[JobResult[R], Settled]:
    with _held(store, record, listeners) as (runner, context):
        settled = runner.run(job_class, record, context, allow_retry=allow_retry)
    return _result(store, settled), settled


async def _arun_held(
    job_class: type[Job[Any, R]],
    store: Store,
    record: JobMetadata,
    allow_retry: bool,
    listeners: Sequence[Listener] = (),
) -> tuple[JobResult[R], Settled]:
    with _held(store, record, listeners) as (runner, context):
        settled = await runner.arun(job_class, record, context, allow_retry=allow_retry)
    if settled.final is not None:
        return _result(store, settled), settled
    return await asyncio.to_thread(_result, store, settled), settled


def _result(store: Store, settled: Settled) -> JobResult[Any]:
    # The row as the outcome left it; re-read only when the outcome was fenced out.
    metadata = settled.final or store.get_job(settled.record.id)
    return JobResult(settled.data, metadata, metadata.error)


def _raise_on_failure(outcome: tuple[JobResult[R], Settled]) -> JobResult[R]:
    result, settled = outcome
    if not result.ok:
        raise JobFailed(result.metadata) from settled.exception
    return result


def _not_claimable(store: Store, job_id: str) -> Exception:
    try:
        current = store.get_job(job_id)
    except JobNotFound as exc:
        return exc
    if current.status is JobStatus.PENDING:
        waiting = [
            j.id
            for j in store.jobs_by_ids(store.dependency_ids(job_id))
            if j.status is not JobStatus.COMPLETED
        ]
        return JobStateError(f"job {job_id} is waiting on dependencies: {', '.join(waiting)}")
    return JobStateError(f"job {job_id} is {current.status}, not pending")


def _run_inline(job_class: type[Job[Any, Any]], store: Store, job_id: str) -> None:
    record = store.claim_job(job_id, caller_worker_id("inline"), get_settings().lock_timeout)
    if record is not None:
        Runner(store, get_settings().progress_interval).run(job_class, record)
