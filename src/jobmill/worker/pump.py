"""The pump: the threads that write a worker's outcomes and claim its jobs.

Finished attempts queue here instead of each writing its own transaction.
The pump records them together (each still fenced by its own lock) and, in
the same transaction, claims the jobs that refill the worker: a few beyond
its free slots, so that no slot waits on the database between two jobs.
Where the database lets rounds overlap (``Dialect.worker_lanes``), a second
round starts while the first waits for its answer; only one of them claims, so
that jobs start in the order of their claims (best first).

It writes when there is a reason to: outcomes waiting longer than
``FLUSH_INTERVAL`` (or ``FLUSH_SIZE`` of them, or nothing left running), or
room for a claim and a sign of ready work — a wake-up (an enqueue here, a
NOTIFY, a rescue), a full previous claim, another connection's commit seen by
the dialect's change watch, or the poll interval passing.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Connection

from jobmill.clock import utcnow
from jobmill.outcomes import Lock, Outcome, refused_by_database
from jobmill.records import JobMetadata
from jobmill.runner import Ended
from jobmill.store import Store
from jobmill.store.claims import ClaimRequest, claim_ready
from jobmill.store.record import apply_outcome, apply_outcomes
from jobmill.store.rounds import complete_and_claim, fits_one_statement
from jobmill.worker.errors import ErrorStreak, is_transient

logger = logging.getLogger("jobmill.worker")

# Outcomes wait at most this long to be written with others.
FLUSH_INTERVAL = 0.005
FLUSH_SIZE = 500
# How often another process's commit is looked for while the worker has room.
WATCH_INTERVAL = 0.002
# With prefetch left to the worker: at most this many jobs claimed ahead, and
# how fast its estimates of the pace follow what it sees.
MAX_AHEAD = 500
SMOOTHING = 0.2


@dataclass(eq=False)
class Finished:
    """An attempt done running, its outcome waiting to be written."""

    lock: Lock
    ended: Ended
    # Called with the outcome as stored (a refused one replaced), None if fenced out.
    on_written: Callable[[Outcome | None], None] = field(repr=False)


class Pace:
    """How far ahead to claim when the worker's ``prefetch`` is left to it: enough
    jobs to keep every slot busy for two rounds, at the rate jobs finish, so
    short jobs are claimed in large batches and long ones a few at a time (a
    job claimed ahead is one no other worker can take meanwhile)."""

    def __init__(self) -> None:
        self.rate = 0.0  # jobs finishing per second
        self.round = 0.0  # seconds a round takes
        self._last = time.monotonic()

    def ahead(self, finished: int, started: float, concurrency: int) -> int:
        now = time.monotonic()
        elapsed, self._last = max(now - self._last, 1e-6), now
        self.rate += (finished / elapsed - self.rate) * SMOOTHING
        self.round += (now - started - self.round) * SMOOTHING
        return max(concurrency, min(MAX_AHEAD, int(2 * self.rate * self.round)))


class Pump:
    """Records finished attempts and claims new ones, in one transaction a round."""

    def __init__(
        self,
        store: Store,
        worker_id: str,
        *,
        job_names: Sequence[str],
        queues: Sequence[str] | None,
        concurrency: int,
        prefetch: int | None,
        lock_timeout: float,
        poll_interval: float,
        on_claimed: Callable[[list[JobMetadata]], None],
        on_drained: Callable[[], None],
        held_locks: Callable[[], set[Lock]],
    ) -> None:
        self.store = store
        self.worker_id = worker_id
        self.job_names = list(job_names)
        self.queues = list(queues) if queues else None
        self.concurrency = concurrency
        self.prefetch = prefetch
        self._ahead = prefetch if prefetch is not None else concurrency
        self._pace = Pace()
        self.lock_timeout = lock_timeout
        self.poll_interval = poll_interval
        self.on_claimed = on_claimed
        self.on_drained = on_drained
        self.held_locks = held_locks
        self._changed = threading.Condition(threading.Lock())
        self._finished: list[Finished] = []
        self._finished_since = 0.0
        self._in_flight = 0  # claimed, not yet finished running
        self._woken = True  # a sign that jobs are ready: claim without looking
        self._look = False  # a hint that they may be: look first where that is cheaper
        self._claiming = True
        self._stopped = False
        self._next_poll = 0.0
        self._retry_at = 0.0
        self._needs_reconcile = False
        self._idle = threading.Event()
        self._idle.set()
        self._lanes = store.dialect.worker_lanes
        self._rounds = 0  # rounds on their way to the database
        self._reconciling = False  # a round that must be alone is under way
        # One claim at a time: each answer is queued before the next claim
        # starts, so that jobs start best first whichever lane claimed them.
        self._claim_under_way = False
        self._threads: list[threading.Thread] = []
        self._watch = store.dialect.change_watch(store.engine)
        self._errors = ErrorStreak("writing outcomes and claiming jobs", logger)
        # Per (thread, autocommit): each lane keeps its own connections.
        self._connections: dict[tuple[int, bool], Connection] = {}

    # other threads --------------------------------------------------------

    def start(self) -> None:
        for lane in range(1, self._lanes + 1):
            thread = threading.Thread(target=self._run, name=f"jobmill-pump-{lane}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def wake(self) -> None:
        """Jobs may be ready: claim as soon as there is room."""
        with self._changed:
            self._woken = True
            self._changed.notify_all()

    def finish(self, item: Finished) -> None:
        """Queue an attempt's outcome to be written (from any thread)."""
        with self._changed:
            if self._stopped:
                return
            self._finished.append(item)
            self._in_flight -= 1
            if len(self._finished) == 1:
                self._finished_since = time.monotonic()
            if len(self._finished) in (1, FLUSH_SIZE) or self._needs_claim():
                self._changed.notify_all()

    def forget(self, reconcile: bool) -> None:
        """An attempt ended without an outcome: given back unstarted, or (with
        ``reconcile``) it crashed the worker's own code, so its job is held
        without being run and the next round releases it."""
        with self._changed:
            self._in_flight -= 1
            self._needs_reconcile = self._needs_reconcile or reconcile
            self._changed.notify_all()

    def stop_claiming(self) -> None:
        with self._changed:
            self._claiming = False
            self._changed.notify_all()

    def wait_idle(self, timeout: float | None) -> bool:
        """Until nothing is running and every outcome is written."""
        return self._idle.wait(timeout)

    def stop(self) -> None:
        """Write what is waiting, then end the thread."""
        with self._changed:
            self._claiming = False
            self._stopped = True
            self._changed.notify_all()
        for thread in self._threads:
            thread.join()
        self._disconnect(every=True)
        if self._watch is not None:
            self._watch.close()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    # the pump's own thread --------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._changed:
                step = self._next_step()
                if step is None:
                    self._changed.notify_all()  # the other lanes may end too
                    return
            finished, limit, look = step
            try:
                self._round(finished, limit, look)
            except Exception:
                # A bug in handing over what a round did must not stop the
                # worker's writes: jobs it held without running are released
                # by the next round.
                logger.exception("a worker round failed after writing")
                held = len(self.held_locks())
                with self._changed:
                    self._in_flight = max(0, held - len(self._finished))
                    self._needs_reconcile = True
            finally:
                with self._changed:
                    self._rounds -= 1
                    self._reconciling = False
                    if limit:
                        self._claim_under_way = False
                    self._changed.notify_all()

    @property
    def capacity(self) -> int:
        """How many jobs are kept claimed: those running and ``prefetch`` more."""
        return self.concurrency + self._ahead

    @property
    def refill(self) -> int:
        """The room that makes a claim worth a round (any room if jobs are known ready)."""
        return max(1, self._ahead // 2, min(self.concurrency, self._ahead))

    def _needs_claim(self) -> bool:
        return self._claiming and self.capacity - self._in_flight >= self.refill

    def _next_step(self) -> tuple[list[Finished], int, bool] | None:
        """Wait (holding the condition) until a round is due; what it writes."""
        while True:
            now = time.monotonic()
            if self._stopped and not self._finished:
                return None
            if self._rounds >= self._lanes or self._reconciling:
                self._changed.wait()
                continue
            room = self.capacity - self._in_flight if self._claiming else 0
            # Room for a claim: enough for a batch, or any when jobs are known ready.
            roomy = (
                room >= (1 if self._woken else self.refill)
                and now >= self._retry_at
                and not self._claim_under_way
            )
            if roomy and not self._woken and self._watch is not None and self._watch.changed():
                self._look = True
            claim = roomy and (self._woken or self._look or now >= self._next_poll)
            flush = bool(self._finished) and (
                claim
                or self._in_flight == 0
                or self._stopped
                or len(self._finished) >= FLUSH_SIZE
                or now - self._finished_since >= FLUSH_INTERVAL
            )
            reconcile = self._needs_reconcile and now >= self._retry_at
            if reconcile and self._rounds:
                # Releasing what this worker holds without running it must not
                # see the jobs another round is claiming: wait until it is done.
                self._changed.wait()
                continue
            if flush or claim or reconcile:
                self._rounds += 1
                self._reconciling = reconcile
                finished, self._finished = self._finished, []
                # A look is a read: cheaper than a write where writers queue
                # (SQLite), and pointless when outcomes take the lock anyway.
                look = (
                    claim
                    and not self._woken
                    and not finished
                    and self.store.dialect.looks_before_claiming
                )
                if claim:
                    self._claim_under_way = True
                    self._woken = self._look = False
                    self._next_poll = now + self.poll_interval
                    self._in_flight += room  # reserved until the claim's answer
                self._idle.clear()
                return finished, room if claim else 0, look
            self._mark_idle()
            self._changed.wait(self._timeout(now, roomy))

    def _timeout(self, now: float, roomy: bool) -> float:
        waits = [self.poll_interval]
        if self._finished:
            waits.append(self._finished_since + FLUSH_INTERVAL - now)
        if roomy:
            waits.append(self._next_poll - now)
            if self._watch is not None:
                waits.append(WATCH_INTERVAL)
        elif self._retry_at > now:
            waits.append(self._retry_at - now)
        return max(0.0, min(waits))

    def _mark_idle(self) -> None:
        if self._in_flight == 0 and not self._finished and not self._rounds:
            self._idle.set()

    def _round(self, finished: list[Finished], limit: int, look: bool) -> None:
        started = time.monotonic()
        reserved = limit
        claimed: list[JobMetadata] = []
        written: list[Outcome | None] = []
        try:
            if self._needs_reconcile:
                self.reconcile()
            if look and not self._has_ready():
                limit = 0
            if finished or limit:
                written, claimed = self._write(finished, limit)
        except Exception as exc:
            self._failed(exc, finished, reserved)
            return
        self._errors.succeeded()
        if self.prefetch is None:
            self._ahead = self._pace.ahead(len(finished), started, self.concurrency)
        for item, stored in zip(finished, written, strict=True):
            item.on_written(stored)
        drained = False
        with self._changed:
            self._in_flight -= reserved - len(claimed)
            if claimed and len(claimed) == limit:
                self._woken = True  # a full claim: more is likely ready
            elif finished:
                self._look = True  # what ended may have unblocked dependents
            drained = (
                bool(reserved)
                and not claimed
                and self._rounds == 1  # no other round may still claim
                and not self._in_flight + len(self._finished)
            )
        if claimed:
            self.on_claimed(claimed)
        if drained:
            self.on_drained()

    def _has_ready(self) -> bool:
        return self.store.has_ready_jobs(self.queues, self.job_names)

    def _write(
        self, finished: list[Finished], limit: int
    ) -> tuple[list[Outcome | None], list[JobMetadata]]:
        now, dialect = utcnow(), self.store.dialect
        ended = [(item.lock, item.ended.outcome) for item in finished]
        claim = ClaimRequest(self.worker_id, limit, self.lock_timeout, self.queues, self.job_names)
        if dialect.writes_round_in_one_statement and all(
            fits_one_statement(outcome) for _, outcome in ended
        ):
            direct = self._connect(autocommit=True)
            done, claimed = complete_and_claim(direct, dialect, ended, claim, now)
            stored = [(lock.job_id, lock.attempt) in done for lock, _ in ended]
        else:
            with self._transaction() as conn:
                stored = apply_outcomes(conn, dialect, ended, now)
                claimed = claim_ready(conn, dialect, claim, now) if limit else []
        return [o if ok else None for (_, o), ok in zip(ended, stored, strict=True)], claimed

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        connection = self._connect(autocommit=False)
        dialect = self.store.dialect
        with dialect.write_gate(), connection.begin():
            if not dialect.keeps_sessions:
                dialect.steer_planner(connection)
            yield connection

    def _connect(self, autocommit: bool) -> Connection:
        # Connections kept for the pump's life (their session steered until
        # they go back to the pool, where sessions last): opening one each
        # round, with the engine's hooks, cost more than a round's writes.
        key = (threading.get_ident(), autocommit)
        connection = self._connections.get(key)
        if connection is None:
            connection = self.store.engine.connect()
            if autocommit:
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            if self.store.dialect.keeps_sessions:
                self.store.dialect.steer_planner(connection, session=True)
                if not autocommit:
                    connection.commit()
            self._connections[key] = connection
        return connection

    def _disconnect(self, every: bool = False) -> None:
        """Give back this lane's connections (``every``: all lanes', at the end)."""
        me = threading.get_ident()
        for key in [key for key in self._connections if every or key[0] == me]:
            connection = self._connections.pop(key)
            if self.store.dialect.keeps_sessions:
                with contextlib.suppress(Exception):
                    self.store.dialect.unsteer_planner(connection)
            with contextlib.suppress(Exception):
                connection.close()

    def _failed(self, exc: Exception, finished: list[Finished], reserved: int) -> None:
        """A round that did not commit: keep the outcomes, retry with backoff."""
        self._disconnect()  # a connection that failed may be dead: take a new one
        if reserved:
            # The claim may have committed without its answer reaching us.
            self._needs_reconcile = True
        if finished and not is_transient(exc):
            # The database refused a value: find which, one outcome at a time.
            self._write_one_by_one(finished)
            finished = []
        delay = self._errors.failed(exc)
        with self._changed:
            self._in_flight -= reserved
            self._finished[:0] = finished
            if finished:
                self._finished_since = time.monotonic()
            self._retry_at = time.monotonic() + delay
            self._woken = self._woken or bool(reserved)

    def _write_one_by_one(self, finished: list[Finished]) -> None:
        for item in finished:
            try:
                written, _ = self._write([item], 0)
            except Exception as exc:
                if is_transient(exc):
                    with self._changed:
                        self._finished.append(item)
                    continue
                logger.exception("the outcome of %s could not be stored", item.lock.job_id)
                written = self._refuse(item, exc)
            item.on_written(written[0])

    def _refuse(self, item: Finished, exc: Exception) -> list[Outcome | None]:
        refused = refused_by_database(exc)
        now = utcnow()
        with self.store.write() as conn:
            return [refused if apply_outcome(conn, item.lock, refused, now) is not None else None]

    def reconcile(self) -> None:
        """Release jobs this worker holds without running them (a claim whose
        answer was lost, an attempt that ended without an outcome)."""
        held = self.held_locks()
        for record in self.store.jobs_locked_by(self.worker_id):
            lock = Lock.of(record)
            if lock not in held and self.store.release(lock):
                logger.warning(
                    "released %s %s: this worker held its lock without running it",
                    record.job_name,
                    record.id,
                )
        self._needs_reconcile = False
