"""``jobmill worker``: run queued jobs until SIGTERM/SIGINT (or, with --burst,
until none is ready); ``--processes M`` supervises M worker processes."""

from __future__ import annotations

import logging
import os
import sys
from typing import Annotated

import typer

from jobmill.cli.app import app
from jobmill.cli.errors import USAGE, CommandError
from jobmill.cli.imports import ImportOption, job_modules, load_job_modules
from jobmill.cli.logs import configure_logging

WORKER_PANEL = "Workers"


@app.command("worker", rich_help_panel=WORKER_PANEL)
def worker(
    ctx: typer.Context,
    queues: Annotated[
        str | None,
        typer.Option("--queues", "-q", metavar="A,B", help="Serve only these queues."),
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", "-c", help="Jobs run at once per process.")
    ] = None,
    prefetch: Annotated[
        int | None,
        typer.Option(
            "--prefetch",
            help="Jobs kept claimed beyond those running (default: paced by the worker).",
        ),
    ] = None,
    processes: Annotated[
        int, typer.Option("--processes", "-p", help="Worker processes to supervise.")
    ] = 1,
    burst: Annotated[
        bool, typer.Option("--burst", help="Exit 0 once no job is ready and none is running.")
    ] = False,
    no_scheduler: Annotated[
        bool, typer.Option("--no-scheduler", help="Do not run the cron scheduler.")
    ] = False,
    lock_timeout: Annotated[
        float | None, typer.Option("--lock-timeout", help="Seconds a lock lasts between beats.")
    ] = None,
    poll_interval: Annotated[
        float | None, typer.Option("--poll-interval", help="Seconds between looks for work.")
    ] = None,
    grace_period: Annotated[
        float | None, typer.Option("--grace-period", help="Seconds to finish jobs on SIGTERM.")
    ] = None,
    log_level: Annotated[
        str, typer.Option("--log-level", help="debug, info, warning or error.")
    ] = "info",
    modules: ImportOption = None,
    parent_pid: Annotated[int | None, typer.Option("--parent-pid", hidden=True)] = None,
) -> None:
    """Run queued jobs until SIGTERM/SIGINT (a second signal stops at once).

    Examples:
      jobmill worker --import myapp.jobs
      jobmill worker --queues mail,default --concurrency 20 --processes 4
      jobmill worker --burst          # run what is ready, then exit
    """
    configure_logging(log_level)
    if processes < 1:
        raise CommandError(f"--processes must be >= 1, got {processes}", USAGE)
    if processes > 1:
        raise typer.Exit(_supervise(ctx, processes, burst, no_scheduler, modules))
    from jobmill.worker import Worker
    from jobmill.worker.supervisor import watch_parent

    load_job_modules(modules)
    if concurrency is not None:
        _size_pool_for(concurrency)
    try:
        runner = Worker(
            queues,
            concurrency=concurrency,
            prefetch=prefetch,
            burst=burst,
            scheduler=not no_scheduler,
            lock_timeout=lock_timeout,
            poll_interval=poll_interval,
            grace_period=grace_period,
        )
    except ValueError as exc:
        raise CommandError(str(exc), USAGE) from exc
    if parent_pid is not None:
        watch_parent(parent_pid, runner.stop)
    runner.run()
    if runner.abandoned_threads:
        # Sync jobs released at shutdown may still occupy threads that Python
        # would wait for; their jobs are back to pending, so leave now.
        logging.shutdown()
        sys.stdout.flush()
        os._exit(0)


def _supervise(
    ctx: typer.Context, processes: int, burst: bool, no_scheduler: bool, modules: list[str] | None
) -> int:
    from jobmill.runtime import get_settings
    from jobmill.worker.supervisor import Supervisor

    # Children see the settings this process resolved, and every job module.
    root_modules = ctx.find_root().params.get("modules") or []
    args = _forwarded_args(ctx, skip={"processes", "no_scheduler", "modules", "parent_pid"})
    for module in job_modules([*root_modules, *(modules or [])]):
        args += ["--import", module]
    env = {"JOBMILL_DATABASE_URL": get_settings().database_url}
    supervisor = Supervisor(processes, args, burst=burst, scheduler=not no_scheduler, env=env)
    return supervisor.run()


def _forwarded_args(ctx: typer.Context, skip: set[str]) -> list[str]:
    """This command's options as given, for a child ``jobmill worker``."""
    args: list[str] = []
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if param.name in skip or value is None or value is False:
            continue
        flag = max(param.opts, key=len)
        args += [flag] if value is True else [flag, str(value)]
    return args


def _size_pool_for(concurrency: int) -> None:
    """Let the connection pool grow with the number of jobs running at once."""
    import jobmill
    from jobmill.runtime import get_settings

    settings = get_settings()
    if concurrency > settings.concurrency:
        jobmill.configure(**{**settings.model_dump(), "concurrency": concurrency})
