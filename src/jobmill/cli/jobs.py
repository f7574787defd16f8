"""Commands on jobs: ``list``, ``status``, ``run``, ``retry``, ``cancel``, ``prune``.

Each is a thin view over ``jobmill.commands``, the layer the dashboard uses
too. Operator actions carry their source (``cli:user@host``) into the job's
history.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from jobmill import registry
from jobmill.actors import operator_source
from jobmill.cli.app import app
from jobmill.cli.durations import parse_duration
from jobmill.cli.errors import FAILURE, USAGE, CommandError
from jobmill.cli.imports import ImportOption, load_job_modules
from jobmill.cli.output import make_console, print_json, printable
from jobmill.cli.running import (
    DelayOption,
    JsonOption,
    LaterOption,
    ParamOption,
    PriorityOption,
    QueueOption,
    RunRequest,
    run_job,
)
from jobmill.cli.views import job_json, print_job, print_jobs_table
from jobmill.clock import utcnow
from jobmill.errors import UnknownJob
from jobmill.humanize import format_time
from jobmill.states import JobStatus
from jobmill.storable import INTEGER_MAX

if TYPE_CHECKING:
    from jobmill.job import Job

JOBS_PANEL = "Jobs"
ListJsonOption = Annotated[
    bool, typer.Option("--json", help="JSON array of job records (JobMetadata fields).")
]


@app.command("list", rich_help_panel=JOBS_PANEL)
def list_jobs(
    status: Annotated[
        JobStatus | None, typer.Option("--status", "-s", help="Only jobs in this status.")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Only this job name.")] = None,
    queue: Annotated[str | None, typer.Option("--queue", "-q", help="Only this queue.")] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-l", min=1, max=INTEGER_MAX, help="At most this many.")
    ] = 50,
    offset: Annotated[
        int, typer.Option("--offset", min=0, max=INTEGER_MAX, help="Skip the newest N.")
    ] = 0,
    as_json: ListJsonOption = False,
) -> None:
    """List jobs, newest first."""
    from jobmill import commands
    from jobmill.store import JobFilter

    filter_ = JobFilter(status=status, job_name=name, queue=queue)
    records = commands.list_jobs(filter_, limit=limit, offset=offset)
    if as_json:
        print_json([record.model_dump(mode="json") for record in records])
        return
    console = make_console()
    if not records:
        console.print("No jobs" + (" match these filters." if status or name or queue else "."))
        return
    print_jobs_table(console, records)


@app.command(rich_help_panel=JOBS_PANEL)
def status(
    job_id: Annotated[str, typer.Argument(metavar="ID_PREFIX", help="A job id or its start.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="The record and history as JSON.")
    ] = False,
) -> None:
    """Show one job: params, result, error and traceback, progress, lock, events."""
    from jobmill import commands

    detail = commands.job_detail(job_id)
    record, events = detail.job, detail.events
    depends_on = [job.id for job in detail.dependencies]
    dependents = [job.id for job in detail.dependents]
    if as_json:
        print_json(job_json(record, events, depends_on, dependents))
    else:
        print_job(make_console(), record, events, depends_on, dependents=dependents)


@app.command(rich_help_panel=JOBS_PANEL)
def run(
    job: Annotated[str, typer.Argument(metavar="JOB", help="Job name or cli_name.")],
    param: ParamOption = None,
    later: LaterOption = False,
    queue: QueueOption = None,
    priority: PriorityOption = None,
    delay: DelayOption = None,
    as_json: JsonOption = False,
    modules: ImportOption = None,
) -> None:
    """Run a job here with a live progress bar, or queue it with --later."""
    load_job_modules(modules)
    run_job(find_job(job), RunRequest(param or [], later, queue, priority, delay, as_json))


def find_job(name: str) -> type[Job[Any, Any]]:
    """The job registered as ``name``, or whose ``cli_name`` is ``name``."""
    try:
        return registry.lookup(name)
    except UnknownJob:
        by_cli_name = registry.lookup_cli_name(name)
        if by_cli_name is None:
            raise
        return by_cli_name


@app.command(rich_help_panel=JOBS_PANEL)
def retry(
    job_id: Annotated[
        str | None, typer.Argument(metavar="ID_PREFIX", help="The job to retry.")
    ] = None,
    all_failed: Annotated[
        bool, typer.Option("--all-failed", help="Retry every failed job (see --name).")
    ] = False,
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="With --all-failed: only this job name.")
    ] = None,
) -> None:
    """Put a failed or cancelled job back to pending, with fresh attempts."""
    from jobmill import commands

    if (job_id is None) == (not all_failed):
        raise CommandError("give either a job ID or --all-failed", USAGE)
    if name and not all_failed:
        raise CommandError("--name goes with --all-failed", USAGE)
    console, source = make_console(), operator_source("cli")
    if job_id is not None:
        record = commands.retry(job_id, source=source)
        console.print(
            f"{printable(record.job_name)} {record.id} is pending again (retried by {source})",
            markup=False,
        )
        return
    _retry_all_failed(name, source)


def _retry_all_failed(name: str | None, source: str) -> None:
    from jobmill import commands

    done = commands.retry_failed(name, source=source)
    which = f" {name}" if name else ""
    make_console().print(
        f"Retried {len(done.retried)} failed{which} jobs (by {source})", markup=False
    )
    if done.refused:  # retried, discarded or pruned meanwhile
        raise CommandError(f"{len(done.refused)} could not be retried:", FAILURE, done.refused)


@app.command(rich_help_panel=JOBS_PANEL)
def cancel(
    job_id: Annotated[str, typer.Argument(metavar="ID_PREFIX", help="The job to cancel.")],
) -> None:
    """Cancel a pending job, or ask a running one to stop."""
    from jobmill import commands

    source = operator_source("cli")
    record = commands.cancel(job_id, source=source)
    if record.status == JobStatus.CANCELLED:
        message = "is cancelled"
    else:
        message = "is running: its worker was asked to stop it"
    shown = f"{printable(record.job_name)} {record.id} {message} (by {source})"
    make_console().print(shown, markup=False)


@app.command(rich_help_panel=JOBS_PANEL)
def discard(
    job_id: Annotated[str, typer.Argument(metavar="ID_PREFIX", help="The failed job.")],
) -> None:
    """Take a failed job out of the failed set (it ends cancelled; retry brings it back)."""
    from jobmill import commands

    source = operator_source("cli")
    record = commands.discard(job_id, source=source)
    shown = f"{printable(record.job_name)} {record.id} is discarded (by {source})"
    make_console().print(shown, markup=False)


@app.command(rich_help_panel=JOBS_PANEL)
def prune(
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than", metavar="DURATION", help="Finished longer ago than e.g. 30d, 12h."
        ),
    ],
    statuses: Annotated[
        list[JobStatus] | None,
        typer.Option(
            "--status",
            "-s",
            metavar="STATUS",
            help="completed, failed or cancelled (repeatable); default: all three.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be deleted; delete nothing.")
    ] = False,
) -> None:
    """Delete finished jobs (and their history) completed before a cut-off."""
    from jobmill import commands

    try:
        age = parse_duration(older_than)
    except ValueError as exc:
        raise CommandError(f"--older-than: {exc}", USAGE) from None
    try:
        wanted = commands.prunable_statuses(statuses)
    except ValueError as exc:
        raise CommandError(f"--status {exc}", USAGE) from None
    now, source = utcnow(), operator_source("cli")
    try:
        cutoff = commands.prune_cutoff(age, now)
    except ValueError as exc:
        raise CommandError(f"--older-than {older_than}: {exc}", USAGE) from None
    if dry_run:
        _print_prunable(commands.count_prunable(age, wanted, now=now), cutoff)
        return
    deleted = commands.prune(age, wanted, source=source, now=now)
    # Pruned jobs take their history with them: this line is the record of it.
    make_console().print(
        f"Pruned {deleted} jobs ({', '.join(wanted)}) finished before "
        f"{format_time(cutoff)} UTC, by {source}"
    )


def _print_prunable(counts: dict[JobStatus, int], cutoff: datetime) -> None:
    by_status = ", ".join(f"{status} {count}" for status, count in counts.items())
    make_console().print(
        f"Would prune {sum(counts.values())} jobs ({by_status}) finished before "
        f"{format_time(cutoff)} UTC; nothing was deleted (--dry-run)"
    )
