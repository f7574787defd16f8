"""``jobmill cron ...`` (list, add, enable, disable, remove, run, next) and
``jobmill scheduler`` (the cron scheduler alone, until SIGTERM/SIGINT).

Thin views over ``jobmill.cron``; operator actions carry their source
(``cli:user@host``).
"""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console

from jobmill import cron
from jobmill.actors import operator_source
from jobmill.cli.app import app
from jobmill.cli.errors import USAGE, CommandError, describe
from jobmill.cli.imports import ImportOption, load_job_modules
from jobmill.cli.logs import configure_logging
from jobmill.cli.output import escape, make_console, make_table, print_json, styled_status
from jobmill.cli.params import parse_params
from jobmill.clock import utcnow
from jobmill.cron.schedule import MISFIRE_GRACE, NEXT_RUNS_MAX, MisfirePolicy
from jobmill.errors import InvalidParams
from jobmill.humanize import format_time

if TYPE_CHECKING:
    from jobmill.cron.scheduler import Scheduler
    from jobmill.store.cron import CronJob

OPERATE_PANEL = "Operate"

cron_app = typer.Typer(
    help="Recurring jobs: list, add, enable, disable, remove, run now, preview.",
    no_args_is_help=True,
)
app.add_typer(cron_app, name="cron", rich_help_panel=OPERATE_PANEL)

EntryArgument = Annotated[
    str, typer.Argument(metavar="NAME_OR_ID", help="The cron entry's name or numeric id.")
]
TimezoneOption = Annotated[
    str, typer.Option("--timezone", "--tz", help="IANA time zone, e.g. Europe/Berlin.")
]


@cron_app.command("list")
def list_entries(
    as_json: Annotated[bool, typer.Option("--json", help="JSON array of cron entries.")] = False,
) -> None:
    """Every cron entry: schedule, state, last and next run, last job status, last error."""
    entries = cron.list_cron_jobs()
    if as_json:
        print_json([entry.model_dump(mode="json") for entry in entries])
        return
    console = make_console()
    if not entries:
        console.print("No cron entries. Add one with: jobmill cron add --name N --job J --cron E")
        return
    _print_entries(console, entries)


def _print_entries(console: Console, entries: list[CronJob]) -> None:
    now = utcnow()
    table = make_table(
        console, "id", "name", "job", "expression", "timezone", "enabled", "last run (UTC)",
        "next run", "last job", "missed", "last error",
    )  # fmt: skip
    for entry in entries:
        table.add_row(
            str(entry.id),
            escape(entry.name or "-"),
            escape(entry.job_name),
            escape(entry.cron_expression),
            escape(entry.timezone),
            "[green]yes[/green]" if entry.enabled else "[red]no[/red]",
            format_time(entry.last_run_at),
            _next_run(entry, now),
            styled_status(entry.last_job_status) if entry.last_job_status else "-",
            str(entry.missed_ticks),
            escape(entry.last_error or "-"),
        )
    console.print(table)


@cron_app.command("add")
def add(
    name: Annotated[str, typer.Option("--name", help="A unique name for the entry.")],
    job: Annotated[str, typer.Option("--job", help="The job name to run.")],
    expression: Annotated[
        str, typer.Option("--cron", metavar="EXPR", help="5-field expression or @daily-style.")
    ],
    timezone: TimezoneOption = "UTC",
    misfire: Annotated[
        str,
        typer.Option(
            "--misfire",
            metavar="POLICY",
            help="Missed ticks: run_once (one catch-up run), skip, or backfill (each).",
        ),
    ] = MisfirePolicy.RUN_ONCE.value,
    backfill_limit: Annotated[
        int, typer.Option("--backfill-limit", help="At most this many backfilled runs.")
    ] = 100,
    queue: Annotated[
        str | None, typer.Option("--queue", "-q", help="Queue instead of the job's own.")
    ] = None,
    priority: Annotated[
        int | None, typer.Option("--priority", help="Priority instead of the job's own.")
    ] = None,
    params: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            metavar="KEY=VALUE",
            help="A param (repeatable): a.b=1 nests; numbers, true/false, null, JSON parsed.",
        ),
    ] = None,
    modules: ImportOption = None,
) -> None:
    """Add a cron entry, checked first (bad expression, unknown job or params: exit 2).

    Example:
      jobmill cron add --name nightly --job ReportJob --cron '0 2 * * *' --tz Europe/Berlin
    """
    load_job_modules(modules)
    try:
        entry = cron.add_cron_job(
            name=name,
            job=job,
            expression=expression,
            timezone=timezone,
            params=parse_params(params or []),
            misfire=misfire,
            backfill_limit=backfill_limit,
            queue=queue,
            priority=priority,
            source=operator_source("cli"),
        )
    except InvalidParams as exc:
        details = describe(exc).details
        message = f"invalid params for {exc.job_name}; no cron entry was added:"
        raise CommandError(message, USAGE, details) from None
    make_console().print(
        f"Added cron entry {escape(entry.label)}: {escape(entry.job_name)} at "
        f"{escape(entry.cron_expression)} ({escape(entry.timezone)}); "
        f"next run {_wall_clock(entry.next_run_at, entry.timezone)}"
    )


@cron_app.command("enable")
def enable(name_or_id: EntryArgument, modules: ImportOption = None) -> None:
    """Enable an entry from its next tick on (ticks missed while disabled never run)."""
    load_job_modules(modules)
    entry = cron.enable_cron_job(name_or_id, source=operator_source("cli"))
    make_console().print(
        f"Enabled cron entry {escape(entry.label)}; "
        f"next run {_wall_clock(entry.next_run_at, entry.timezone)}"
    )


@cron_app.command("disable")
def disable(name_or_id: EntryArgument) -> None:
    """Disable an entry: it fires no more until enabled."""
    entry = cron.disable_cron_job(name_or_id, source=operator_source("cli"))
    make_console().print(f"Disabled cron entry {escape(entry.label)}")


@cron_app.command("remove")
def remove(name_or_id: EntryArgument) -> None:
    """Delete an entry (the jobs it enqueued stay)."""
    entry = cron.remove_cron_job(name_or_id, source=operator_source("cli"))
    message = f"Removed cron entry {escape(entry.label)}"
    if entry.declared_in_code:
        message += "; it is declared in code and returns when a worker with that code starts"
    make_console().print(message)


@cron_app.command("run")
def run(name_or_id: EntryArgument, modules: ImportOption = None) -> None:
    """Enqueue one job for an entry now (its schedule is unchanged); prints the job id."""
    load_job_modules(modules)
    job_id = cron.run_cron_job(name_or_id, source=operator_source("cli"))
    make_console().print(job_id)


@cron_app.command("next")
def next_times(
    expression: Annotated[
        str,
        typer.Argument(metavar="EXPR|NAME_OR_ID", help="A cron expression, or an entry."),
    ],
    count: Annotated[
        int, typer.Option("-n", "--count", min=1, max=NEXT_RUNS_MAX, help="How many times.")
    ] = 5,
    timezone: TimezoneOption = "UTC",
    as_json: Annotated[bool, typer.Option("--json", help="ISO times as a JSON array.")] = False,
) -> None:
    """Preview the next times an expression, or a cron entry, fires.

    Example:
      jobmill cron next '30 2 * * *' -n 3 --tz Europe/Berlin
      jobmill cron next nightly-report
    """
    entry = _entry_named(expression)
    if entry is not None:
        expression, timezone = entry.cron_expression, entry.timezone
    times = cron.next_runs(expression, timezone, count)
    if as_json:
        print_json([moment.isoformat() for moment in times])
        return
    console = make_console()
    for moment in times:
        line = _wall_clock(moment, timezone)
        if timezone != "UTC":
            line += f"  ({_wall_clock(moment, 'UTC')})"
        console.print(line)


def _entry_named(text: str) -> CronJob | None:
    """The entry ``text`` names, if it cannot be an expression (those have spaces or '@')."""
    if not text.strip() or any(c.isspace() for c in text) or text.startswith("@"):
        return None
    try:
        return cron.get_cron_job(text)
    except cron.CronJobNotFound:
        return None


def _next_run(entry: CronJob, now: datetime) -> str:
    """The next run on the entry's clock, marked when a scheduler should have fired it."""
    text = _wall_clock(entry.next_run_at, entry.timezone)
    due = entry.next_run_at
    if entry.enabled and due is not None and now - due > MISFIRE_GRACE:
        text += " [red](overdue)[/red]"  # no scheduler (or worker) is running
    return text


def _wall_clock(moment: datetime | None, timezone: str) -> str:
    """``2026-03-29 03:00 CEST``: a time on the entry's own clock, or ``-``."""
    if moment is None:
        return "-"
    try:
        zone: Any = ZoneInfo(timezone)
    except (KeyError, ValueError):
        zone = UTC
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


@app.command("scheduler", rich_help_panel=OPERATE_PANEL)
def scheduler(
    poll_interval: Annotated[
        float | None,
        typer.Option("--poll-interval", help="Seconds between passes (default: the setting)."),
    ] = None,
    log_level: Annotated[
        str, typer.Option("--log-level", help="debug, info, warning or error.")
    ] = "info",
    modules: ImportOption = None,
) -> None:
    """Run the cron scheduler alone until SIGTERM/SIGINT (workers run one too).

    Any number of schedulers may run: each tick enqueues exactly one job.

    Example:
      jobmill scheduler --import myapp.jobs
    """
    from jobmill.cron.scheduler import Scheduler
    from jobmill.runtime import get_settings, get_store

    configure_logging(log_level)
    load_job_modules(modules)
    interval = poll_interval if poll_interval is not None else get_settings().poll_interval
    try:
        runner = Scheduler(get_store(), poll_interval=interval)
    except ValueError as exc:
        raise CommandError(f"--poll-interval: {exc}", USAGE) from exc
    asyncio.run(_run_until_signalled(runner))


async def _run_until_signalled(runner: Scheduler) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await runner.arun(stop)
