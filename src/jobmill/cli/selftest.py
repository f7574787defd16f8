"""``jobmill selftest``: run no-op jobs on worker processes (killing and freezing
some with ``--kill-workers``) and report lost jobs and duplicate completions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from jobmill.cli.app import app
from jobmill.cli.errors import FAILURE, USAGE, CommandError
from jobmill.cli.output import make_console, make_table
from jobmill.cli.worker import WORKER_PANEL

if TYPE_CHECKING:
    from rich.console import Console

    from jobmill.selftest.run import SelftestReport

SHOWN_IDS = 5


@app.command("selftest", rich_help_panel=WORKER_PANEL)
def selftest(
    jobs: Annotated[int, typer.Option("--jobs", "-n", help="No-op jobs to run.")] = 10_000,
    processes: Annotated[
        int, typer.Option("--processes", "-p", help="Worker processes to run them.")
    ] = 3,
    kill_workers: Annotated[
        bool,
        typer.Option(
            "--kill-workers", help="SIGKILL, and SIGSTOP then SIGCONT, workers at random."
        ),
    ] = False,
    seconds: Annotated[
        float, typer.Option("--seconds", help="Most seconds to wait for the jobs.")
    ] = 60.0,
) -> None:
    """Check the configured database and workers: no job lost, none completed twice.

    Enqueues no-op jobs in a queue of its own, runs worker processes over it,
    prints what became of the jobs and removes them. Exits 0 only with no job
    lost and no duplicate completion.

    Examples:
      jobmill selftest
      jobmill selftest --jobs 100000 --processes 3 --kill-workers --seconds 600
    """
    from jobmill.selftest.run import WorkerExited, run_selftest

    try:
        report = run_selftest(jobs, processes, kill_workers=kill_workers, seconds=seconds)
    except ValueError as exc:
        raise CommandError(str(exc), USAGE) from exc
    except WorkerExited as exc:
        raise CommandError(str(exc)) from exc
    console = make_console()
    print_report(console, report)
    if not report.tally.passed:
        raise typer.Exit(FAILURE)


def print_report(console: Console, report: SelftestReport) -> None:
    tally = report.tally
    table = make_table(console, "measure", "value")
    rows = [
        ("jobs", f"{tally.jobs:,}"),
        ("processes", str(report.processes)),
        ("kills", str(report.kills)),
        ("stops", str(report.freezes)),
        ("completed", f"{tally.completed:,}"),
        ("lost", f"{len(tally.lost):,}"),
        ("duplicate completions", f"{len(tally.duplicated):,}"),
        ("ran again (worker killed or stopped)", f"{len(tally.ran_again):,}"),
        ("throughput", f"{report.throughput:,.0f} jobs/s"),
        ("elapsed", f"{report.elapsed:.1f} s"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    for name, ids in (("lost", tally.lost), ("duplicated", tally.duplicated)):
        if ids:
            more = f" (and {len(ids) - SHOWN_IDS:,} more)" if len(ids) > SHOWN_IDS else ""
            console.print(f"{name}: {', '.join(ids[:SHOWN_IDS])}{more}")
    if report.logs:
        console.print(f"worker output and marks kept in {report.logs}")
    console.print("passed" if tally.passed else "FAILED")
