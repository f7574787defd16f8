"""Operator actions on cron entries, shared by the CLI and the dashboard.

Each takes the entry's name or id and a ``source`` saying who acted
(``operator_source("cli")``...). Changes are logged with their source and
stored in the entry's ``updated_by``; a ``run`` also lands in the enqueued
job's history.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import Any, Unpack

from jobmill.actors import operator_source
from jobmill.clock import utcnow
from jobmill.cron.entries import CronDefinition, CronOptions
from jobmill.cron.schedule import NEXT_RUNS_MAX, CronSchedule
from jobmill.runtime import get_store
from jobmill.store.cron import CronJob

logger = logging.getLogger("jobmill.cron")


def add_cron_job(
    *,
    name: str,
    job: str | type[Any],
    expression: str,
    source: str | None = None,
    now: datetime | None = None,
    **options: Unpack[CronOptions],
) -> CronJob:
    """Validate and store a new entry; its first run is the next tick after ``now``.

    ``options``: ``params``, ``timezone``, ``misfire``, ``backfill_limit``,
    ``queue``, ``priority`` (see ``CronOptions``).

    Raises ``CronError`` (bad expression, zone, policy or a taken name),
    ``UnknownJob`` or ``InvalidParams``; nothing is stored then.
    """
    now = now or utcnow()
    definition = CronDefinition.check(name=name, job=job, expression=expression, **options)
    source = source or operator_source("api")
    new_entry = replace(definition.new_cron_job(now), updated_by=source)
    entry = get_store().add_cron_job(new_entry, now)
    _log("added", entry, source)
    return entry


def enable_cron_job(
    name_or_id: str | int, *, source: str | None = None, now: datetime | None = None
) -> CronJob:
    """Enable an entry from its next tick on; ticks missed while disabled never fire.

    The entry is checked first, as ``add`` would (``CronError``, ``UnknownJob``...).
    An entry already enabled is left as it is.
    """
    now = now or utcnow()
    store = get_store()
    entry = store.get_cron_job(name_or_id)
    definition = CronDefinition.of_entry(entry)
    if entry.enabled and entry.next_run_at is not None:
        return entry  # already enabled: its schedule (and any misfire) stands
    source = source or operator_source("api")
    entry = store.enable_cron_job(entry.id, definition.schedule.next_after(now), now, source)
    _log("enabled", entry, source)
    return entry


def disable_cron_job(
    name_or_id: str | int, *, source: str | None = None, now: datetime | None = None
) -> CronJob:
    """Disable an entry: it fires no more until enabled."""
    store = get_store()
    source = source or operator_source("api")
    entry = store.disable_cron_job(store.get_cron_job(name_or_id).id, now=now, updated_by=source)
    _log("disabled", entry, source)
    return entry


def remove_cron_job(name_or_id: str | int, *, source: str | None = None) -> CronJob:
    """Delete an entry; returns it as it was. Its jobs stay, with their ``cron_job_id``.

    A schedule declared in code comes back when a worker with that code starts.
    """
    store = get_store()
    entry = store.get_cron_job(name_or_id)
    store.remove_cron_job(entry.id)
    _log("removed", entry, source)
    return entry


def run_cron_job(
    name_or_id: str | int, *, source: str | None = None, now: datetime | None = None
) -> str:
    """Enqueue one job for an entry now, outside its schedule; returns the job id.

    Works on disabled entries too; the schedule itself is unchanged.
    """
    now = now or utcnow()
    store = get_store()
    entry = store.get_cron_job(name_or_id)
    new_job = CronDefinition.of_entry(entry).build_job(entry.id, None, now)
    source = source or operator_source("api")
    job_id = store.run_cron_job(
        entry.id, new_job, source, f"run now from cron entry {entry.label}", now
    )
    _log("run", entry, source, f"; job {job_id}")
    return job_id


def list_cron_jobs() -> list[CronJob]:
    """Every cron entry, named ones first."""
    return get_store().list_cron_jobs()


def get_cron_job(name_or_id: str | int) -> CronJob:
    """The entry with this name or id (``CronJobNotFound``)."""
    return get_store().get_cron_job(name_or_id)


def next_runs(
    expression: str, timezone: str = "UTC", count: int = 5, now: datetime | None = None
) -> list[datetime]:
    """The next ``count`` ticks (1 to 1000) of an expression after ``now`` (UTC;
    ``CronError`` if bad); fewer if the calendar ends first (the year 9999)."""
    if not 1 <= count <= NEXT_RUNS_MAX:
        raise ValueError(f"count must be from 1 to {NEXT_RUNS_MAX}, got {count}")
    return CronSchedule.parse(expression, timezone).upcoming(now or utcnow(), count)


def _log(action: str, entry: CronJob, source: str | None, extra: str = "") -> None:
    logger.info(
        "cron entry %s %s by %s%s", entry.label, action, source or operator_source("api"), extra
    )
