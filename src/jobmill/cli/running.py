"""Running a job from the command line: here with a live progress display, or queued.

Shared by ``jobmill run JOB`` and the commands made from a job's ``cli_name``.
The result (or, with ``--later``, the new job's id) goes to stdout; progress
and notes go to stderr, so ``jobmill run ... > result.json`` keeps only data.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from jobmill.cli.durations import parse_duration
from jobmill.cli.errors import FAILURE, USAGE, CommandError
from jobmill.cli.output import escape, make_console, print_json, printable
from jobmill.cli.params import parse_params
from jobmill.errors import JobFailed
from jobmill.humanize import format_duration, format_time

if TYPE_CHECKING:
    from jobmill.job import Job
    from jobmill.outcomes import ProgressUpdate
    from jobmill.records import JobMetadata

ParamOption = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        "-p",
        metavar="KEY=VALUE",
        help="A param (repeatable): a.b=x nests; numbers, true/false, null and JSON are parsed.",
        show_default=False,
    ),
]
LaterOption = Annotated[
    bool, typer.Option("--later", help="Queue the job for a worker and print its id.")
]
QueueOption = Annotated[
    str | None, typer.Option("--queue", "-q", help="Queue to use instead of the job's own.")
]
PriorityOption = Annotated[
    int | None, typer.Option("--priority", help="Priority (higher runs first).")
]
DelayOption = Annotated[
    str | None,
    typer.Option("--delay", metavar="DURATION", help="Queue to run after e.g. 90s, 10m, 2h."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the job record as JSON.")]


@dataclass(frozen=True)
class RunRequest:
    """What the command line asked for: params as given, and how to dispatch."""

    params: list[str]
    later: bool = False
    queue: str | None = None
    priority: int | None = None
    delay: str | None = None
    as_json: bool = False


def run_job(job_class: type[Job[Any, Any]], request: RunRequest) -> None:
    """Run ``job_class`` here (progress on stderr, result on stdout) or queue it.

    Params are parsed and validated before anything is stored: a bad
    ``--param`` or invalid params exit 2 with nothing enqueued.
    """
    params = parse_params(request.params)
    delay = _delay_seconds(request.delay)
    try:
        dispatch = job_class.set(queue=request.queue, priority=request.priority, delay=delay)
    except ValueError as exc:  # e.g. an empty --queue
        raise CommandError(str(exc), USAGE) from None
    if request.later or delay is not None:
        _enqueue(job_class, dispatch.later(params), request.as_json)
        return
    stderr = make_console(stderr=True)
    with progress_display(stderr, job_class.job_name) as listener:
        try:
            result = dispatch.on_progress(listener).now(params)
        except JobFailed as exc:
            _print_outcome(stderr, exc.metadata, request.as_json)
            raise typer.Exit(FAILURE) from None
    _print_outcome(stderr, result.metadata, request.as_json)


def _delay_seconds(delay: str | None) -> float | None:
    if delay is None:
        return None
    try:
        return parse_duration(delay).total_seconds()
    except ValueError as exc:
        raise CommandError(f"--delay: {exc}", USAGE) from None


def _enqueue(job_class: type[Job[Any, Any]], job_id: str, as_json: bool) -> None:
    from jobmill.commands import get

    record = get(job_id)
    if as_json:
        print_json(record.model_dump(mode="json"))
        return
    typer.echo(job_id)
    when = ""
    if (record.run_at - record.enqueued_at).total_seconds() >= 1:  # not just clock jitter
        when = f" to run at {format_time(record.run_at)} UTC"
    note = (
        f"queued {job_class.job_name} on {record.queue!r}{when}; "
        f"see it with: jobmill status {job_id}"
    )
    make_console(stderr=True).print(note, markup=False)


def _print_outcome(stderr: Console, record: JobMetadata, as_json: bool) -> None:
    took = format_duration(record.duration)
    job = f"{escape(record.job_name)} {record.id}"
    if record.status == "completed":
        stderr.print(f"[green]{job} completed[/green] in {took}")
    else:
        status = escape(record.status)
        stderr.print(f"[red]{job} {status}:[/red] {escape(record.error or '', multiline=True)}")
        stderr.print(f"details and traceback: jobmill status {record.id}")
    if as_json:
        print_json(record.model_dump(mode="json"))
    elif record.status == "completed":
        typer.echo(json.dumps(record.result, indent=2, default=str))


@contextmanager
def progress_display(console: Console, title: str) -> Iterator[Any]:
    """A progress listener: a live bar on a terminal, a line per change otherwise."""
    if not console.is_terminal:
        yield PlainProgress(console)
        return
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[message]}"),
        console=console,
    )
    task = progress.add_task(title, total=100, message="")

    def listener(update: ProgressUpdate) -> None:
        progress.update(task, completed=update.percent, message=escape(update.message or ""))

    with progress:
        yield listener


class PlainProgress:
    """Prints ``  42% message`` whenever the whole percent or the message changes."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.last: tuple[int, str | None] | None = None
        self.mutex = threading.Lock()

    def __call__(self, update: ProgressUpdate) -> None:
        shown = (int(update.percent), update.message)
        with self.mutex:
            if shown == self.last:
                return
            self.last = shown
        text = f"{shown[0]:3d}%" + (f" {update.message}" if update.message else "")
        self.console.print(printable(text), markup=False)
