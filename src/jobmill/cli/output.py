"""Terminal output: Rich when stdout is a TTY and NO_COLOR is unset, plain otherwise."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from rich.console import Console

STATUS_STYLES = {
    "completed": "green",
    "failed": "red",
    "running": "yellow",
    "pending": "grey50",
    "cancelled": "magenta",
}


def use_color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def make_console(stderr: bool = False) -> Console:
    color = use_color()
    return Console(
        stderr=stderr,
        no_color=not color,
        color_system="auto" if color else None,
        highlight=False,
        soft_wrap=not color,
        width=None if color else 200,
    )


def print_json(value: Any) -> None:
    """Plain JSON on stdout (for ``--json``), never coloured."""
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


def styled_status(status: str) -> str:
    style = STATUS_STYLES.get(status)
    return f"[{style}]{status}[/{style}]" if style else status
