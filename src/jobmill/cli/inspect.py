"""Looking at the system: ``stats``, ``workers`` and ``jobs`` (the registered ones)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from jobmill import registry
from jobmill.cli.app import app
from jobmill.cli.imports import ImportOption, load_job_modules
from jobmill.cli.output import escape, make_console, make_table, print_json, styled_status
from jobmill.clock import utcnow
from jobmill.humanize import format_duration, format_time
from jobmill.states import JobStatus, statuses_to_show

if TYPE_CHECKING:
    from jobmill.job import Job
    from jobmill.store.stats import DurationStats

INSPECT_PANEL = "Inspect"
WINDOWS = {"last hour": timedelta(hours=1), "last day": timedelta(days=1)}
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


@app.command(rich_help_panel=INSPECT_PANEL)
def stats(as_json: JsonOption = False) -> None:
    """Jobs by queue and status, throughput, and run-time percentiles per job."""
    from jobmill.runtime import get_store

    store, now = get_store(), utcnow()
    counts = store.count_jobs_by_queue_and_status()
    throughput = {label: store.count_finished_since(now - span) for label, span in WINDOWS.items()}
    durations = store.job_duration_percentiles(now - WINDOWS["last day"])
    if as_json:
        print_json(
            {
                "counts": [
                    {"queue": queue, "status": str(status), "count": count}
                    for (queue, status), count in sorted(counts.items())
                ],
                "throughput": {
                    label.replace(" ", "_"): {str(s): n for s, n in by_status.items()}
                    for label, by_status in throughput.items()
                },
                "durations": [vars(entry) for entry in durations],
            }
        )
        return
    console = make_console()
    _print_counts(console, counts)
    _print_throughput(console, throughput)
    _print_durations(console, durations)


def _print_counts(console: Console, counts: dict[tuple[str, JobStatus | str], int]) -> None:
    console.print("[bold]Jobs by queue and status[/bold]")
    statuses = statuses_to_show(status for _, status in counts)
    table = make_table(console, "queue", *(styled_status(s) for s in statuses), "total")
    queues = sorted({queue for queue, _ in counts})
    for queue in queues:
        row = [counts.get((queue, status), 0) for status in statuses]
        table.add_row(escape(queue), *(str(n) for n in row), str(sum(row)))
    if len(queues) != 1:
        totals = [sum(counts.get((q, status), 0) for q in queues) for status in statuses]
        table.add_row("all", *(str(n) for n in totals), str(sum(totals)))
    console.print(table)


def _print_throughput(console: Console, throughput: dict[str, dict[JobStatus, int]]) -> None:
    console.print("\n[bold]Throughput (jobs finished)[/bold]")
    statuses = sorted({status for by_status in throughput.values() for status in by_status})
    table = make_table(console, "window", *(styled_status(s) for s in statuses), "per minute")
    for label, by_status in throughput.items():
        minutes = WINDOWS[label].total_seconds() / 60
        rate = sum(by_status.values()) / minutes
        shown = "<0.01" if 0 < rate < 0.005 else f"{rate:.2f}"  # a few a day is not zero
        table.add_row(label, *(str(by_status[s]) for s in statuses), shown)
    console.print(table)


def _print_durations(console: Console, durations: Sequence[DurationStats]) -> None:
    console.print("\n[bold]Run time of jobs completed in the last day[/bold]")
    if not durations:
        console.print("No job completed in the last day.")
        return
    table = make_table(console, "job", "runs", "p50", "p95", "p99", "max")
    for entry in durations:
        values = (entry.p50, entry.p95, entry.p99, entry.max)
        table.add_row(
            escape(entry.job_name), str(entry.count), *(format_duration(v) for v in values)
        )
    console.print(table)


@app.command(rich_help_panel=INSPECT_PANEL)
def workers(as_json: JsonOption = False) -> None:
    """Registered workers, live or stale (silent longer than the lock timeout)."""
    from jobmill import commands
    from jobmill.runtime import get_settings
    from jobmill.store.stats import is_live

    now, stale_after = utcnow(), get_settings().lock_timeout
    found = commands.list_workers()
    if as_json:
        print_json(
            [
                {
                    **vars(worker),
                    "queues": list(worker.queues) if worker.queues else None,
                    "running_job_ids": list(worker.running_job_ids),
                    "live": is_live(worker.heartbeat_at, stale_after, now),
                }
                for worker in found
            ]
        )
        return
    console = make_console()
    if not found:
        console.print("No workers registered. Start one with: jobmill worker")
        return
    table = make_table(
        console, "worker", "state", "host", "pid", "queues", "slots", "running", "started (UTC)",
        "last heartbeat",
    )  # fmt: skip
    for worker in found:
        live = is_live(worker.heartbeat_at, stale_after, now)
        table.add_row(
            escape(worker.id),
            "[green]live[/green]" if live else "[red]stale[/red]",
            escape(worker.hostname),
            str(worker.pid),
            escape(",".join(worker.queues) if worker.queues else "all"),
            str(worker.concurrency),
            str(len(worker.running_job_ids)),
            format_time(worker.started_at),
            f"{format_duration(_ago(worker.heartbeat_at, now))} ago",
        )
    console.print(table)


def _ago(moment: datetime, now: datetime) -> float:
    return max(0.0, (now - moment).total_seconds())


@app.command("jobs", rich_help_panel=INSPECT_PANEL)
def jobs_command(
    name: Annotated[
        str | None, typer.Argument(metavar="JOB", help="Show only this job, in full.")
    ] = None,
    as_json: JsonOption = False,
    modules: ImportOption = None,
) -> None:
    """Registered jobs, their options and params schema."""
    load_job_modules(modules)
    classes = sorted(registry.registered().values(), key=lambda cls: cls.job_name)
    if name is not None:
        classes = [registry.lookup(name)]
    if as_json:
        print_json([describe_job(cls) for cls in classes])
        return
    console = make_console()
    if not classes:
        console.print("No jobs registered: name their modules in `imports` or with --import.")
        return
    for cls in classes:
        _print_job_class(console, describe_job(cls), full=name is not None)


def describe_job(job_class: type[Job[Any, Any]]) -> dict[str, Any]:
    """A registered job's options and params JSON schema."""
    return {
        "job_name": job_class.job_name,
        "cli_name": job_class.cli_name,
        "module": job_class.__module__,
        "queue": job_class.queue,
        "priority": job_class.priority,
        "max_attempts": job_class.max_attempts,
        "timeout": job_class.timeout,
        "is_async": job_class.is_async,
        "cron": job_class.cron,
        "params_schema": job_class.codec.params_schema(),
    }


def _print_job_class(console: Console, info: dict[str, Any], full: bool) -> None:
    title = f"[bold cyan]{escape(info['job_name'])}[/bold cyan]"
    if info["cli_name"]:
        title += f"  (jobmill {escape(info['cli_name'])})"
    console.print(title)
    options = [f"queue={info['queue']}", f"priority={info['priority']}"]
    options.append(f"max_attempts={info['max_attempts']}")
    if info["timeout"]:
        options.append(f"timeout={info['timeout']:g}s")
    if info["cron"]:
        options.append(f"cron={info['cron']!r}")
    console.print(f"  {escape(', '.join(options))}  [dim]{escape(info['module'])}[/dim]")
    schema = info["params_schema"]
    if full:
        console.print(json.dumps(schema, indent=2), markup=False)
    for line in param_lines(schema):
        console.print(f"    {escape(line)}")
    console.print()


def param_lines(schema: dict[str, Any]) -> list[str]:
    """One line per top-level param: ``name: type (required)`` or ``= default``."""
    properties = schema.get("properties")
    if not properties:
        return [f"params: {_type_of(schema, schema)}"] if schema else ["params: any"]
    required = set(schema.get("required", ()))
    lines = []
    for field, spec in properties.items():
        suffix = " (required)" if field in required else _default(spec)
        lines.append(f"--param {field}=<{_type_of(spec, schema)}>{suffix}")
    return lines


def _default(spec: dict[str, Any]) -> str:
    return f" = {json.dumps(spec['default'])}" if "default" in spec else ""


def _type_of(spec: dict[str, Any], root: dict[str, Any]) -> str:
    if "$ref" in spec:
        return str(spec["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in spec:
        return " | ".join(_type_of(option, root) for option in spec["anyOf"])
    if "enum" in spec:
        return " | ".join(json.dumps(value) for value in spec["enum"])
    kind = spec.get("type", "any")
    if kind == "array" and isinstance(spec.get("items"), dict):
        return f"array of {_type_of(spec['items'], root)}"
    return str(kind)
