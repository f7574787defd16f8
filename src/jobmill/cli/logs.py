"""Logging for the long-running commands (``worker``, ``scheduler``)."""

from __future__ import annotations

import logging
import sys

from jobmill.cli.errors import USAGE, CommandError
from jobmill.cli.output import printable

LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"


class PrintableFormatter(logging.Formatter):
    """Log lines with control characters escaped: the errors, names and messages
    they quote come from jobs and the database, and end on a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record), multiline=True)


def configure_logging(level: str) -> None:
    """Log to stderr at ``level``; an unknown level is a usage error (exit 2)."""
    if level.lower() not in LOG_LEVELS:
        raise CommandError(
            f"--log-level must be one of {', '.join(LOG_LEVELS)}, got {level!r}", USAGE
        )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(PrintableFormatter(LOG_FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler])
    logging.getLogger("alembic").setLevel(logging.WARNING)
