"""Rendering jobs for the terminal: the ``list`` table and the ``status`` page.

Pure presentation: these functions take records and print them; they never
query. JSON forms use the ``JobMetadata`` field names.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from jobmill.cli.output import escape, format_percent, make_table, printable, styled_status
from jobmill.clock import utcnow
from jobmill.events import EventKind
from jobmill.humanize import format_duration, format_time, short_ids
from jobmill.storable import UndecodableJSON, json_text

if TYPE_CHECKING:
    from jobmill.records import JobEvent, JobMetadata


def print_jobs_table(console: Console, records: Sequence[JobMetadata]) -> None:
    """The ``list`` table: newest first, as given."""
    table = make_table(
        console,
        "id",
        "job",
        "status",
        "progress",
        "created (UTC)",
        "completed (UTC)",
        "duration",
        "attempts",
    )
    short = short_ids([record.id for record in records])
    for record in records:
        table.add_row(
            short[record.id],
            escape(record.job_name),
            styled_status(record.status),
            format_percent(record.progress),
            format_time(record.enqueued_at),
            format_time(record.completed_at),
            format_duration(record.duration),
            f"{record.attempts}/{record.max_attempts}",
        )
    console.print(table)


def job_json(
    record: JobMetadata,
    events: Sequence[JobEvent],
    depends_on: Sequence[str],
    dependents: Sequence[str] = (),
) -> dict[str, Any]:
    """``status --json``: the record's fields, plus ``history``, ``depends_on`` and
    ``dependents`` (the jobs that wait for this one)."""
    return {
        **record.model_dump(mode="json"),
        "depends_on": list(depends_on),
        "dependents": list(dependents),
        "history": [event.model_dump(mode="json") for event in events],
    }


def print_job(
    console: Console,
    record: JobMetadata,
    events: Sequence[JobEvent],
    depends_on: Sequence[str],
    now: datetime | None = None,
    dependents: Sequence[str] = (),
) -> None:
    """The ``status`` page: fields, params, result, error, progress, lock, events."""
    console.print(f"[bold]{escape(record.job_name)}[/bold] {record.id}")
    console.print(_fields(record, depends_on, dependents, now or utcnow()))
    _print_json_section(console, "Params", record.params)
    if record.result is not None:
        _print_json_section(console, "Result", record.result)
    if record.error:
        console.print("\n[bold red]Error[/bold red]")
        console.print(printable(record.error, multiline=True), markup=False)
    if record.error_traceback:
        console.print("\n[bold red]Traceback[/bold red]")
        console.print(printable(record.error_traceback.rstrip(), multiline=True), markup=False)
    progress = [event for event in events if event.kind is EventKind.PROGRESS]
    if progress:
        console.print("\n[bold]Progress[/bold]")
        console.print(_progress_table(console, progress))
    others = [event for event in events if event.kind is not EventKind.PROGRESS]
    console.print("\n[bold]Events[/bold]")
    console.print(_events_table(console, others))


def _fields(
    record: JobMetadata, depends_on: Sequence[str], dependents: Sequence[str], now: datetime
) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    rows: list[tuple[str, str]] = [
        ("status", styled_status(record.status)),
        ("queue", escape(record.queue)),
        ("priority", str(record.priority)),
        ("progress", _progress_text(record)),
        ("attempts", f"{record.attempts} of {record.max_attempts}"),
        ("enqueued", format_time(record.enqueued_at)),
        ("run at", format_time(record.run_at)),
        ("started", format_time(record.started_at)),
        ("completed", format_time(record.completed_at)),
        ("duration", format_duration(record.duration)),
        ("lock", _lock_text(record, now)),
    ]
    optional = {
        "timeout": format_duration(record.timeout) if record.timeout else None,
        "unique key": escape(record.unique_key) if record.unique_key else None,
        "cron entry": str(record.cron_job_id) if record.cron_job_id is not None else None,
        "depends on": ", ".join(depends_on) or None,
        "needed by": ", ".join(dependents) or None,
        "cancel": "requested" if record.cancel_requested else None,
    }
    rows.extend((name, value) for name, value in optional.items() if value)
    for name, value in rows:
        grid.add_row(name, value)
    return grid


def _progress_text(record: JobMetadata) -> str:
    text = format_percent(record.progress)
    if record.progress_message:
        text += f"  {escape(record.progress_message)}"
    return text


def _lock_text(record: JobMetadata, now: datetime) -> str:
    if record.worker_id is None:
        return "-"
    owner = escape(record.worker_id)
    if record.locked_until is None or record.status != "running":
        return f"last held by {owner}"
    left = (record.locked_until - now).total_seconds()
    when = f"in {format_duration(left)}" if left >= 0 else f"expired {format_duration(-left)} ago"
    return f"held by {owner} until {format_time(record.locked_until)} ({when})"


def _print_json_section(console: Console, title: str, value: Any) -> None:
    console.print(f"\n[bold]{title}[/bold]")
    text = json_text(value)
    shown = printable(text, multiline=True)
    # Rich's JSON view would print control characters inside strings as they are.
    if console.is_terminal and shown == text and not isinstance(value, UndecodableJSON):
        from rich.json import JSON

        console.print(JSON(text))
    else:
        console.print(shown, markup=False)


def _progress_table(console: Console, events: Sequence[JobEvent]) -> Table:
    table = make_table(console, "time (UTC)", "attempt", "percent", "message")
    for event in events:
        table.add_row(
            format_time(event.at),
            _text(event.attempt),
            format_percent(event.progress or 0),
            escape(event.message or ""),
        )
    return table


def _events_table(console: Console, events: Sequence[JobEvent]) -> Table:
    table = make_table(console, "time (UTC)", "event", "attempt", "worker", "source", "details")
    for event in events:
        table.add_row(
            format_time(event.at),
            escape(event.kind),
            _text(event.attempt),
            escape(event.worker_id or ""),
            escape(event.source or ""),
            escape(_details(event)),
        )
    return table


def _details(event: JobEvent) -> str:
    parts = [event.error or "", event.message or ""]
    if event.progress is not None and event.kind is not EventKind.COMPLETED:
        parts.append(format_percent(event.progress))
    return "  ".join(part for part in parts if part)


def _text(value: object) -> str:
    return "" if value is None else str(value)
