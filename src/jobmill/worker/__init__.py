"""The worker: claims queued jobs and runs them with heartbeats, rescue, fencing,
retries and graceful shutdown (``jobmill worker`` or ``jobmill.Worker``)."""

from __future__ import annotations

from jobmill.worker.worker import Worker

__all__ = ["Worker"]
