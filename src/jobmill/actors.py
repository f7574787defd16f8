"""Who acts: operators (``cli:alice@host``, recorded as an action's ``source``)
and callers that run jobs themselves (``now:host:pid``, a running job's worker)."""

from __future__ import annotations

import getpass
import os
import socket


def operator_source(channel: str) -> str:
    """Who/where an operator action came from, e.g. ``cli:alice@host``."""
    try:
        user = getpass.getuser()
    except OSError:
        user = "unknown"
    return f"{channel}:{user}@{socket.gethostname()}"


def caller_worker_id(kind: str) -> str:
    """The worker id of a process running jobs itself, e.g. ``now:host:4242``."""
    return f"{kind}:{socket.gethostname()}:{os.getpid()}"
