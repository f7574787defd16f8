"""Recurring jobs: cron expressions on the ``cron_jobs`` table, run by a scheduler.

Declare a schedule in code with a job class option (``cron = "0 * * * *"``) or
``jobmill.cron.schedule(name, JobClass, expression, params=..., timezone=...)``;
manage stored entries with ``jobmill cron ...`` or the functions below. The
scheduler (``jobmill.cron.scheduler.Scheduler``) runs in every worker and as
``jobmill scheduler``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobmill.lazy import export_lazily

if TYPE_CHECKING:
    from jobmill.cron.commands import (
        add_cron_job,
        disable_cron_job,
        enable_cron_job,
        get_cron_job,
        list_cron_jobs,
        next_runs,
        remove_cron_job,
        run_cron_job,
    )
    from jobmill.cron.declare import declared_definitions, schedule, unschedule
    from jobmill.cron.entries import CronDefinition, CronOptions
    from jobmill.cron.schedule import CronSchedule, DuePlan, MisfirePolicy, plan_due
    from jobmill.store.cron import CronJob, CronJobNotFound

# Imported on first use (jobmill.lazy): `jobmill cron --help` loads no database code.
_EXPORTS = {
    "add_cron_job": "jobmill.cron.commands",
    "disable_cron_job": "jobmill.cron.commands",
    "enable_cron_job": "jobmill.cron.commands",
    "get_cron_job": "jobmill.cron.commands",
    "list_cron_jobs": "jobmill.cron.commands",
    "next_runs": "jobmill.cron.commands",
    "remove_cron_job": "jobmill.cron.commands",
    "run_cron_job": "jobmill.cron.commands",
    "declared_definitions": "jobmill.cron.declare",
    "schedule": "jobmill.cron.declare",
    "unschedule": "jobmill.cron.declare",
    "CronDefinition": "jobmill.cron.entries",
    "CronOptions": "jobmill.cron.entries",
    "CronSchedule": "jobmill.cron.schedule",
    "DuePlan": "jobmill.cron.schedule",
    "MisfirePolicy": "jobmill.cron.schedule",
    "plan_due": "jobmill.cron.schedule",
    "CronJob": "jobmill.store.cron",
    "CronJobNotFound": "jobmill.store.cron",
}
export_lazily(__name__, _EXPORTS)

__all__ = [
    "CronDefinition",
    "CronJob",
    "CronJobNotFound",
    "CronOptions",
    "CronSchedule",
    "DuePlan",
    "MisfirePolicy",
    "add_cron_job",
    "declared_definitions",
    "disable_cron_job",
    "enable_cron_job",
    "get_cron_job",
    "list_cron_jobs",
    "next_runs",
    "plan_due",
    "remove_cron_job",
    "run_cron_job",
    "schedule",
    "unschedule",
]
