"""The cron scheduler as a task inside a worker (``scheduler=False`` to opt out).

A scheduler that crashes is logged and restarted with backoff: cron trouble
never stops the worker from running jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from jobmill.cron.scheduler import Scheduler
from jobmill.store import Store
from jobmill.worker.errors import ErrorStreak

logger = logging.getLogger("jobmill.worker")


async def run_cron_scheduler(store: Store, poll_interval: float, stop: asyncio.Event) -> None:
    """Run the scheduler until ``stop`` is set."""
    streak = ErrorStreak("cron scheduler", logger)
    while not stop.is_set():
        try:
            await Scheduler(store, poll_interval=poll_interval).arun(stop)
            return
        except Exception as exc:
            delay = streak.failed(exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
