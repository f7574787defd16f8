"""The ``jobmill`` command line: a thin view over the library (no SQL here)."""

from __future__ import annotations

import importlib

from jobmill.cli.app import app

# Each module registers its commands on ``app`` when imported.
COMMAND_MODULES = ("jobmill.cli.db",)


def main() -> None:
    for module in COMMAND_MODULES:
        importlib.import_module(module)
    app()


__all__ = ["app", "main"]
