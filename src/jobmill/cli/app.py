"""The Typer application every command module registers on.

``JobmillGroup`` adds what Typer's group does not do by itself: a job's
``cli_name`` resolves to a command of its own (``jobmill generate-projects``),
and jobmill's errors become a message and an exit code (see ``errors``).
"""

from __future__ import annotations

import inspect
from typing import Any

import typer
from typer.core import TyperGroup

from jobmill.cli.errors import CommandError, report, reported_errors
from jobmill.cli.imports import ImportOption, load_job_modules
from jobmill.cli.output import use_color

IMPORTS_PARAM = "modules"


class JobmillGroup(TyperGroup):
    """Built-in commands, then one command per registered job ``cli_name``."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            from jobmill.cli.aliases import alias_command

            command = alias_command(cmd_name, ctx.params.get(IMPORTS_PARAM))
        if command is not None and self.rich_markup_mode is None:
            keep_example_lines(command)
        return command

    def list_commands(self, ctx: Any) -> list[str]:
        from jobmill.cli.aliases import alias_names

        builtin = super().list_commands(ctx)
        try:
            aliases = alias_names(ctx.params.get(IMPORTS_PARAM))
        except CommandError as exc:  # help must still show when a job module is broken
            report(exc)
            aliases = []
        return [*builtin, *(name for name in aliases if name not in builtin)]

    def invoke(self, ctx: Any) -> Any:
        with reported_errors():
            return super().invoke(ctx)


def keep_example_lines(command: Any) -> None:
    """Plain help keeps the lines of paragraphs after the first, as Rich help does.

    Click rewraps every paragraph unless it starts with ``\\b``; docstrings
    with example lines read as written in both modes this way.
    """
    if command.help:
        first, *rest = inspect.cleandoc(command.help).split("\n\n")
        kept = [p if "\n" not in p or p.startswith("\b") else f"\b\n{p}" for p in rest]
        command.help = "\n\n".join([first, *kept])
    for subcommand in getattr(command, "commands", {}).values():
        keep_example_lines(subcommand)


app = typer.Typer(
    cls=JobmillGroup,
    name="jobmill",
    help="jobmill: run, queue, schedule and inspect jobs.",
    add_completion=False,
    # Plain help and errors when output is not a terminal (or NO_COLOR is set).
    rich_markup_mode="rich" if use_color() else None,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback(invoke_without_command=True)
def root(ctx: typer.Context, modules: ImportOption = None) -> None:
    """jobmill: run, queue, schedule and inspect jobs. `jobmill help` shows examples."""
    if modules:
        load_job_modules(modules)
    if ctx.invoked_subcommand is None:
        from jobmill.cli.help import print_overview

        print_overview(ctx)
