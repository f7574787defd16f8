"""Commands made from jobs' ``cli_name``: ``jobmill generate-projects --param count=5``.

A job class that sets ``cli_name`` gets a command of that name taking the
options of ``jobmill run``. The job modules come from the ``imports``
setting and ``jobmill --import MODULE`` (given before the command name).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import typer

from jobmill import registry
from jobmill.cli.app import app
from jobmill.cli.imports import load_job_modules
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

if TYPE_CHECKING:
    from jobmill.job import Job


def alias_names(modules: Sequence[str] | None = None) -> list[str]:
    """The ``cli_name`` of every registered job, sorted."""
    load_job_modules(modules)
    return sorted(cls.cli_name for cls in registry.registered().values() if cls.cli_name)


def alias_command(name: str, modules: Sequence[str] | None = None) -> Any:
    """The command for the job whose ``cli_name`` is ``name``, or None."""
    load_job_modules(modules)
    job_class = registry.lookup_cli_name(name)
    if job_class is None:
        return None
    holder = typer.Typer(add_completion=False, rich_markup_mode=app.rich_markup_mode)
    holder.command(name=name, help=_help(job_class))(_command_for(job_class))
    command = typer.main.get_command(holder)
    command.job_class = job_class  # type: ignore[attr-defined]  # for `jobmill help`
    return command


def example_for(name: str, job_class: type[Job[Any, Any]]) -> str:
    """``jobmill NAME --param a=... --param b=...`` for the job's required params."""
    schema = job_class.codec.params_schema()
    fields = list(schema.get("required", ())) or list(schema.get("properties", {}))[:2]
    return " ".join(["jobmill", name, *(f"--param {field}=..." for field in fields)])


def _help(job_class: type[Job[Any, Any]]) -> str:
    summary = (job_class.__doc__ or "").strip().split("\n\n")[0]
    runs = (
        f"Runs {job_class.job_name} here with a progress bar; --later queues it. "
        f"Its params: jobmill jobs {job_class.job_name}"
    )
    return f"{summary}\n\n{runs}" if summary else runs


def _command_for(job_class: type[Job[Any, Any]]) -> Any:
    def command(
        param: ParamOption = None,
        later: LaterOption = False,
        queue: QueueOption = None,
        priority: PriorityOption = None,
        delay: DelayOption = None,
        as_json: JsonOption = False,
    ) -> None:
        run_job(job_class, RunRequest(param or [], later, queue, priority, delay, as_json))

    return command
