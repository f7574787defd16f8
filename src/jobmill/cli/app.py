"""The Typer application every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="jobmill",
    help="jobmill: run, queue, schedule and inspect jobs.",
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)
