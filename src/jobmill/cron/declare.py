"""Schedules declared in code, upserted by name when a worker or scheduler starts.

Two ways to declare one::

    class DigestJob(Job[DigestParams, None]):
        cron = "0 7 * * *"                  # the entry is named "DigestJob"
        cron_params = {"audience": "all"}
        cron_timezone = "Europe/Berlin"

    jobmill.cron.schedule("hourly-cleanup", CleanupJob, "@hourly", params={"days": 30})
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any, Unpack

from jobmill import registry
from jobmill.cron.entries import CronDefinition, CronOptions
from jobmill.errors import CronError, InvalidParams, UnknownJob
from jobmill.job import Job

logger = logging.getLogger("jobmill.cron")

_mutex = threading.Lock()
_declared: dict[str, CronDefinition] = {}


def schedule(
    name: str, job: type[Job[Any, Any]] | str, expression: str, **options: Unpack[CronOptions]
) -> CronDefinition:
    """Declare a recurring job in code; stored under ``name`` when a worker starts.

    ``options``: ``params``, ``timezone``, ``misfire``, ``backfill_limit``,
    ``queue``, ``priority`` (see ``CronOptions``).

    Checked at once (``CronError``, ``UnknownJob``, ``InvalidParams``).
    Declaring a name again with the same definition is harmless; with another
    definition it is a ``CronError``.

    ``jobmill.cron.schedule("nightly-report", ReportJob, "0 2 * * *",
    params={"format": "pdf"}, timezone="Europe/Berlin")``
    """
    definition = CronDefinition.check(name=name, job=job, expression=expression, **options)
    key = definition.name or name
    with _mutex:
        existing = _declared.get(key)
        if existing is not None and existing != definition:
            raise CronError(f"a different schedule named {key!r} is already declared")
        _declared[key] = definition
    return definition


def unschedule(name: str) -> None:
    """Forget a schedule declared with ``schedule`` (its stored entry stays)."""
    with _mutex:
        _declared.pop(name, None)


def declared_definitions() -> list[CronDefinition]:
    """Every schedule declared in this process: ``schedule`` calls, then job classes
    with a ``cron`` option (named after the job) not shadowed by such a call.

    A class option that does not check out is logged and left out.
    """
    with _mutex:
        found = dict(_declared)
    for job_class in registry.registered().values():
        if job_class.cron and job_class.job_name not in found:
            definition = _class_definition(job_class)
            if definition is not None:
                found[job_class.job_name] = definition
    return list(found.values())


def _class_definition(job_class: type[Job[Any, Any]]) -> CronDefinition | None:
    params: Mapping[str, Any] | None = job_class.cron_params
    try:
        return CronDefinition.check(
            name=job_class.job_name,
            job=job_class,
            expression=job_class.cron or "",
            timezone=job_class.cron_timezone,
            params=params,
        )
    except (CronError, InvalidParams, UnknownJob) as exc:
        logger.error("the cron option of %s is not scheduled: %s", job_class.job_name, exc)
        return None
