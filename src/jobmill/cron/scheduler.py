"""The scheduler: fires due cron entries, inside every worker or alone.

Any number of schedulers may run against one database. Each reads the due
entries, plans them (``plan_due``) and fires each one in a transaction
guarded by the ``next_run_at`` it read, so each tick enqueues exactly one job
whichever scheduler gets there first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import Any

from jobmill import registry
from jobmill.actors import caller_worker_id
from jobmill.clock import utcnow
from jobmill.cron.declare import declared_definitions
from jobmill.cron.entries import CronDefinition
from jobmill.cron.schedule import MISFIRE_GRACE, CronSchedule, DuePlan, plan_due
from jobmill.errors import CronError, InvalidParams, UnknownJob
from jobmill.store import Store
from jobmill.store.cron import CronFiring, CronJob, DueCronJob

logger = logging.getLogger("jobmill.cron")

# What makes an entry bad (disabled with ``last_error``) rather than the pass fail.
BAD_ENTRY_ERRORS = (CronError, InvalidParams, UnknownJob)


class Scheduler:
    """Fires the due cron entries of ``store`` every ``poll_interval`` seconds.

    ``await Scheduler(store, poll_interval=1.0).arun(stop)`` stores the
    schedules declared in code, then ticks until ``stop`` is set.
    ``tick(now)`` is one pass, for tests and tools.
    """

    def __init__(self, store: Store, *, poll_interval: float) -> None:
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be positive, got {poll_interval!r}")
        self.store = store
        self.poll_interval = poll_interval
        self.source = caller_worker_id("scheduler")
        # A tick is missed only if reached later than a polling delay explains.
        self.grace = max(MISFIRE_GRACE, timedelta(seconds=2 * poll_interval))
        self._failing = False
        self._warned_no_jobs = False
        self._waiting_for_others: set[int] = set()

    async def arun(self, stop: asyncio.Event) -> None:
        """Upsert the declared schedules, then tick until ``stop`` is set.

        A failing pass (the database is away) is logged once and retried at
        the next poll; the loop only ends when ``stop`` is set.
        """
        declared = False
        logger.info("cron scheduler %s started (every %ss)", self.source, self.poll_interval)
        while not stop.is_set():
            try:
                if not declared:
                    await asyncio.to_thread(self.declare)
                    declared = True
                await asyncio.to_thread(self.tick)
            except Exception:
                self._report_failure()
            else:
                self._report_recovery()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.poll_interval)
        logger.info("cron scheduler %s stopped", self.source)

    def declare(self, now: datetime | None = None) -> list[CronJob]:
        """Store the schedules declared in this process's code (by name)."""
        now = now or utcnow()
        definitions = declared_definitions()
        if not definitions:
            return []
        rows = [definition.new_cron_job(now, declared_in_code=True) for definition in definitions]
        entries = self.store.upsert_cron_jobs(rows, now)
        logger.info("cron schedules declared in code: %s", ", ".join(str(e.name) for e in entries))
        return entries

    def tick(self, now: datetime | None = None) -> list[str]:
        """One pass: fire every due entry; returns the ids of the jobs enqueued."""
        now = now or utcnow()
        due = self.store.due_cron_jobs(now)
        if due and not registry.registered():
            # Without job modules every entry would look unknown; leave them alone.
            if not self._warned_no_jobs:
                logger.warning("no jobs are registered here; import the job modules to run cron")
            self._warned_no_jobs = True
            return []
        enqueued: list[str] = []
        failure: Exception | None = None
        for item in due:
            # An entry whose firing fails (its write refused) does not hold up the
            # entries after it; the pass still fails, to be logged and retried.
            try:
                enqueued.extend(self._fire(item, now))
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
        return enqueued

    def _fire(self, due: DueCronJob, now: datetime) -> list[str]:
        entry = due.entry
        if entry.next_run_at is None:
            # A row inserted without next_run_at (raw SQL) starts at its next tick.
            try:
                schedule = CronSchedule.parse(entry.cron_expression, entry.timezone)
            except CronError as exc:
                self._disable(entry, exc, now)
                return []
            self.store.set_first_cron_run(entry.id, schedule.next_after(now), now)
            return []
        try:
            definition = CronDefinition.of_entry(entry)
            plan = plan_due(
                definition.schedule,
                entry.next_run_at,
                now,
                definition.misfire,
                definition.backfill_limit,
                self.grace,
            )
            firing = self._firing(entry, due.stored_next_run_at, definition, plan, now)
        except UnknownJob as exc:
            self._unknown_here(entry, exc, now)
            return []
        except BAD_ENTRY_ERRORS as exc:
            self._disable(entry, exc, now)
            return []
        except Exception as exc:
            # Planning does no I/O: whatever else it raises (a params validator of
            # the job's own failing) comes back at every tick of this entry.
            self._disable(entry, f"{type(exc).__name__}: {exc}", now)
            return []
        if not self.store.fire_cron_job(firing, now):
            return []  # another scheduler fired this tick
        self._log_firing(entry, plan)
        return [job.id for job in firing.new_jobs]

    def _firing(
        self,
        entry: CronJob,
        seen: Any,
        definition: CronDefinition,
        plan: DuePlan,
        now: datetime,
    ) -> CronFiring:
        new_jobs = [definition.build_job(entry.id, tick, now) for tick in plan.run_times]
        note = f"enqueued by cron entry {entry.label}"
        if plan.missed:
            note += f" ({plan.missed} missed ticks, misfire policy {definition.misfire})"
        return CronFiring(
            cron_job_id=entry.id,
            seen=seen,
            next_run_at=plan.next_run_at,
            new_jobs=new_jobs,
            missed_ticks=plan.missed,
            source=self.source,
            note=note,
        )

    def _unknown_here(self, entry: CronJob, exc: UnknownJob, now: datetime) -> None:
        """A job this process does not define may be defined by another scheduler
        (a host running only some job modules): leave the tick to it. Only when no
        scheduler has fired the tick within the grace period is the job unknown
        everywhere, and the entry disabled."""
        assert entry.next_run_at is not None
        if now - entry.next_run_at <= self.grace:
            if entry.id not in self._waiting_for_others:
                logger.info(
                    "cron entry %s: %s is not defined here; leaving it to a scheduler that "
                    "defines it",
                    entry.label,
                    entry.job_name,
                )
            self._waiting_for_others.add(entry.id)
            return
        self._waiting_for_others.discard(entry.id)
        self._disable(entry, exc, now)

    def _disable(self, entry: CronJob, error: Exception | str, now: datetime) -> None:
        logger.error("cron entry %s is disabled: %s", entry.label, error)
        self.store.disable_cron_job(entry.id, error=str(error), now=now)

    @staticmethod
    def _log_firing(entry: CronJob, plan: DuePlan) -> None:
        if plan.missed:
            logger.warning(
                "cron entry %s missed %d ticks; enqueued %d job(s); next run %s",
                entry.label,
                plan.missed,
                len(plan.run_times),
                plan.next_run_at.isoformat(),
            )
        else:
            logger.info(
                "cron entry %s enqueued %s; next run %s",
                entry.label,
                entry.job_name,
                plan.next_run_at.isoformat(),
            )

    def _report_failure(self) -> None:
        if not self._failing:
            logger.exception("cron scheduler pass failed; retrying every %ss", self.poll_interval)
        self._failing = True

    def _report_recovery(self) -> None:
        if self._failing:
            logger.info("cron scheduler recovered")
        self._failing = False
