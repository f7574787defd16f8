"""Terminal output: colours on a terminal, plain text otherwise.

Colour is used when the stream is a TTY, unless ``NO_COLOR`` is set;
``FORCE_COLOR`` turns it on for a pipe. Plain output has no colours, no box
drawing and no live display, so it reads well in logs and pipes.
"""

from __future__ import annotations

import json
import os
import re
import sys
from datetime import datetime
from typing import Any, TextIO

from rich import box
from rich.console import Console
from rich.markup import escape as markup_escape
from rich.table import Table

STATUS_STYLES = {
    "completed": "green",
    "failed": "red",
    "running": "yellow",
    "pending": "grey50",
    "cancelled": "magenta",
}
PLAIN_WIDTH = 200
# C0 and C1 control characters, DEL, and the format characters that reorder
# text (bidirectional overrides and isolates).
_CONTROLS: dict[int, str] = {
    code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F, *range(0x80, 0xA0))
}
_CONTROLS.update({0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"})
_CONTROLS.update(
    {
        code: f"\\u{code:04x}"
        for code in (0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
    }
)
_KEEP_LINES = {code: shown for code, shown in _CONTROLS.items() if code not in (0x09, 0x0A)}
TRAILING_SPACES = re.compile(r"[ \t]+(?=\n)")


def use_color(stderr: bool = False) -> bool:
    """Whether output to stdout (or stderr) gets colours and live displays."""
    if os.environ.get("NO_COLOR"):  # set and not empty, as no-color.org says
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    stream = sys.stderr if stderr else sys.stdout
    return stream.isatty()


class _PlainStream:
    """A stream without the trailing spaces Rich pads table cells with."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write(TRAILING_SPACES.sub("", text))

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return False


def make_console(stderr: bool = False) -> Console:
    color = use_color(stderr)
    stream = sys.stderr if stderr else sys.stdout
    return Console(
        file=stream if color else _PlainStream(stream),  # type: ignore[arg-type]
        no_color=not color,
        force_terminal=color,
        color_system="auto" if color else None,
        highlight=False,
        soft_wrap=not color,
        # A terminal tells its width; a pipe (even a coloured one) gets long lines.
        width=None if stream.isatty() else PLAIN_WIDTH,
    )


def make_table(console: Console, *columns: str) -> Table:
    """A table with box lines on a terminal, plain aligned columns otherwise."""
    table = Table(
        *columns,
        box=box.SIMPLE_HEAD if console.is_terminal else None,
        header_style="bold" if console.is_terminal else "",
        pad_edge=False,
        show_edge=False,
    )
    return table


def print_json(value: Any) -> None:
    """Plain JSON on stdout (for ``--json``), never coloured; times in ISO 8601."""
    sys.stdout.write(json.dumps(value, indent=2, default=_json_default) + "\n")
    sys.stdout.flush()


def _json_default(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def printable(text: str, multiline: bool = False) -> str:
    """``text`` with its control characters shown as escapes (``\\x1b``), so text
    from the database cannot drive the terminal (set its title, clear the
    screen) or reorder what is shown; ``multiline`` keeps newlines and tabs."""
    return text.translate(_KEEP_LINES if multiline else _CONTROLS)


def escape(text: str, multiline: bool = False) -> str:
    """``text`` ready for Rich markup: control characters and markup escaped."""
    return markup_escape(printable(text, multiline))


def styled_status(status: str) -> str:
    style = STATUS_STYLES.get(status)
    return f"[{style}]{status}[/{style}]" if style else escape(status)


def format_percent(percent: float) -> str:
    return f"{percent:.0f}%"
