"""The ``jobmill`` command line: a thin view over the library (no SQL here).

``main`` is the console script (``jobmill``, also ``python -m jobmill``).
"""

from __future__ import annotations

import importlib

import typer

from jobmill.cli.app import app

# Each module registers its commands on ``app`` when imported; add yours here.
COMMAND_MODULES = (
    "jobmill.cli.help",
    "jobmill.cli.jobs",
    "jobmill.cli.inspect",
    "jobmill.cli.db",
    "jobmill.cli.worker",
    "jobmill.cli.selftest",
    "jobmill.cli.cron",
    "jobmill.cli.dashboard",
)


def load_commands() -> typer.Typer:
    """The application with every command module's commands registered."""
    for module in COMMAND_MODULES:
        importlib.import_module(module)
    return app


def main() -> None:
    load_commands()(prog_name="jobmill")


__all__ = ["COMMAND_MODULES", "app", "load_commands", "main"]
