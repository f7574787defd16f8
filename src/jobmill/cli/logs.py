"""Logging for the long-running commands (``worker``, ``scheduler``)."""

from __future__ import annotations

import logging
import sys

from jobmill.cli.errors import USAGE, CommandError

LOG_LEVELS = ("debug", "info", "warning", "error")


def configure_logging(level: str) -> None:
    """Log to stderr at ``level``; an unknown level is a usage error (exit 2)."""
    if level.lower() not in LOG_LEVELS:
        raise CommandError(
            f"--log-level must be one of {', '.join(LOG_LEVELS)}, got {level!r}", USAGE
        )
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
