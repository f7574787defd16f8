"""huey (SQLite storage): tasks enqueued by calling them, ``huey_consumer`` as
the worker. huey has no bulk enqueue (``Task.map`` enqueues one by one)."""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Iterator
from types import ModuleType

from ..processes import script
from .base import SyncPeer

HUEY = "bench.peers.huey_tasks.huey"
# huey's consumer guide: more worker threads for throughput (thread is its default type).
TUNED = ["--workers", "4", "--worker-type", "thread"]


class HueyPeer(SyncPeer):
    system = "huey"
    backend = "sqlite"
    package = "huey"
    default_detail = "`huey_consumer` (1 thread)"
    tuned_detail = "`huey_consumer -w 4 -k thread`"
    bulk_api = None
    tasks: ModuleType

    @contextlib.contextmanager
    def database(self) -> Iterator[None]:
        self.env = {"JOBMILL_BENCH_HUEY_DB": str(self.workdir / "huey.db")}
        os.environ.update(self.env)
        self.tasks = importlib.import_module("bench.peers.huey_tasks")
        yield

    def worker_command(self, tuned: bool) -> list[str]:
        return [script("huey_consumer"), HUEY, *(TUNED if tuned else [])]

    @contextlib.contextmanager
    def client(self) -> Iterator[None]:
        yield

    def enqueue_one(self, n: int) -> None:
        self.tasks.noop(n)
