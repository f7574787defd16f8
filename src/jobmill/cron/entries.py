"""A cron entry checked against this process's job registry.

``cron add``, schedules declared in code and the scheduler all go through
``CronDefinition``: the job exists, the expression and time zone parse, the
params validate. A stored row that fails the check is what the scheduler
disables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypedDict, Unpack

from jobmill import registry
from jobmill.cron.schedule import BACKFILL_LIMIT_MAX, CronSchedule, MisfirePolicy
from jobmill.dispatch import Dispatch
from jobmill.errors import CronError, InvalidParams
from jobmill.job import Job
from jobmill.storable import (
    CRON_EXPRESSION_LENGTH,
    CRON_NAME_LENGTH,
    QUEUE_LENGTH,
    UndecodableJSON,
    check_integer,
    check_text,
    json_problems,
)
from jobmill.store import NewJobs
from jobmill.store.cron import CronJob, NewCronJob


class CronOptions(TypedDict, total=False):
    """What an entry may say beyond its name, job and expression (declared once for
    ``schedule``, ``add_cron_job`` and ``CronDefinition.check``).

    ``params`` (default none), ``timezone`` (IANA name, default UTC), ``misfire``
    (``run_once``, ``skip`` or ``backfill``), ``backfill_limit`` (default 100),
    ``queue`` and ``priority`` (default: the job's own).
    """

    params: Any
    timezone: str
    misfire: str | MisfirePolicy
    backfill_limit: int
    queue: str | None
    priority: int | None


@dataclass(frozen=True)
class CronDefinition:
    """What a cron entry runs and when; built only through ``check`` or ``of_entry``."""

    name: str | None
    job_class: type[Job[Any, Any]]
    schedule: CronSchedule
    params: Any
    misfire: MisfirePolicy = MisfirePolicy.RUN_ONCE
    backfill_limit: int = 100
    queue: str | None = None
    priority: int | None = None

    @classmethod
    def check(
        cls,
        *,
        name: str | None,
        job: str | type[Job[Any, Any]],
        expression: str,
        **options: Unpack[CronOptions],
    ) -> CronDefinition:
        """Validate every part; raises ``CronError``, ``UnknownJob`` or ``InvalidParams``.

        Params are validated against the job's params type now and again at
        every tick; they are stored as given (a model instance as its JSON).
        """
        job_class = _job_class(job)
        schedule = CronSchedule.parse(expression, options.get("timezone", "UTC"))
        _storable("cron expression", schedule.expression, CRON_EXPRESSION_LENGTH)
        definition = cls(
            name=_check_name(name),
            job_class=job_class,
            schedule=schedule,
            params=_stored_params(job_class, options.get("params")),
            misfire=MisfirePolicy.parse(options.get("misfire", MisfirePolicy.RUN_ONCE)),
            backfill_limit=_check_backfill_limit(options.get("backfill_limit", 100)),
            queue=_check_queue(options.get("queue")),
            priority=_check_priority(options.get("priority")),
        )
        definition.build_job(0, None)  # params must make a valid job
        return definition

    @classmethod
    def of_entry(cls, entry: CronJob) -> CronDefinition:
        """The definition of a stored entry, checked like a new one (its name as stored)."""
        definition = cls.check(
            name=None,
            job=entry.job_name,
            expression=entry.cron_expression,
            timezone=entry.timezone,
            params=entry.params,
            misfire=entry.misfire_policy,
            backfill_limit=entry.backfill_limit,
            queue=entry.queue,
            priority=entry.priority,
        )
        return replace(definition, name=entry.name)

    def build_job(
        self, cron_job_id: int, run_at: datetime | None, now: datetime | None = None
    ) -> NewJobs:
        """A validated job for the tick at ``run_at`` (None: now); raises ``InvalidParams``."""
        dispatch = Dispatch(self.job_class).set(
            queue=self.queue, priority=self.priority, run_at=run_at
        )
        new_job = dispatch.build(self.params, now=now)
        return replace(new_job, cron_job_id=cron_job_id)

    def new_cron_job(
        self, now: datetime, *, enabled: bool = True, declared_in_code: bool = False
    ) -> NewCronJob:
        """The row to store, its first tick the one after ``now``."""
        return NewCronJob(
            name=self.name,
            job_name=self.job_class.job_name,
            cron_expression=self.schedule.expression,
            timezone=self.schedule.timezone,
            params=self.params,
            next_run_at=self.schedule.next_after(now),
            misfire_policy=self.misfire.value,
            backfill_limit=self.backfill_limit,
            queue=self.queue,
            priority=self.priority,
            enabled=enabled,
            declared_in_code=declared_in_code,
        )


def _job_class(job: str | type[Job[Any, Any]]) -> type[Job[Any, Any]]:
    if isinstance(job, str):
        return registry.lookup(job)
    if isinstance(job, type) and issubclass(job, Job) and not job.abstract:
        return job
    raise CronError(f"job must be a job class or a registered job name, got {job!r}")


def _check_name(name: str | None) -> str | None:
    if name is None:
        return None
    if not isinstance(name, str) or not name.strip() or len(name) > CRON_NAME_LENGTH:
        raise CronError(
            f"cron entry name must be a non-empty string of at most {CRON_NAME_LENGTH} "
            f"characters, got {name!r}"
        )
    if name.strip().isdigit():
        raise CronError(f"cron entry name {name!r} must not be a number (ids are numbers)")
    return _storable("cron entry name", name.strip())


def _storable(field: str, value: str, max_length: int | None = None) -> str:
    try:
        return check_text(field, value, max_length)
    except ValueError as exc:
        raise CronError(str(exc)) from None


def _stored_params(job_class: type[Job[Any, Any]], params: Any) -> Any:
    if params is None:
        return {}
    if isinstance(params, UndecodableJSON):
        raise CronError(f"cron params {params.describe()}")
    if not isinstance(params, Mapping):
        return job_class.codec.dump_params(job_class.codec.coerce_params(params))
    # Stored as given, so checked as given: both databases must store it alike.
    problems = json_problems(params)
    if problems:
        raise InvalidParams(job_class.job_name, problems)
    return dict(params)


def _check_backfill_limit(limit: int) -> int:
    if not isinstance(limit, int) or not 1 <= limit <= BACKFILL_LIMIT_MAX:
        raise CronError(
            f"backfill_limit must be an integer from 1 to {BACKFILL_LIMIT_MAX}, got {limit!r}"
        )
    return limit


def _check_queue(queue: str | None) -> str | None:
    if queue is None:
        return None
    if not isinstance(queue, str) or not queue.strip():
        raise CronError(f"queue must be a non-empty string or None, got {queue!r}")
    return _storable("queue", queue, QUEUE_LENGTH)


def _check_priority(priority: int | None) -> int | None:
    try:
        return None if priority is None else check_integer("priority", int(priority))
    except (TypeError, ValueError) as exc:
        raise CronError(str(exc)) from None
