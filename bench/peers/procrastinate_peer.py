"""procrastinate (psycopg): ``Task.defer`` one job per call, ``Task.batch_defer``
for bulk, ``procrastinate worker`` as the worker."""

from __future__ import annotations

import contextlib
import importlib
import os
import subprocess
from collections.abc import Iterator, Sequence
from types import ModuleType

from ..databases import fresh_pg_database, pg_uri
from ..processes import script, worker_env
from .base import SyncPeer

APP = "--app=bench.peers.procrastinate_app.app"
# procrastinate's worker docs: concurrency runs several jobs at once (default 1).
TUNED = ["--concurrency", "10"]


class ProcrastinatePeer(SyncPeer):
    system = "procrastinate"
    backend = "postgresql"
    package = "procrastinate"
    default_detail = "`procrastinate worker` (concurrency 1)"
    tuned_detail = f"`procrastinate worker {' '.join(TUNED)}`"
    bulk_api = "Task.batch_defer()"
    tasks: ModuleType

    @contextlib.contextmanager
    def database(self) -> Iterator[None]:
        with fresh_pg_database("procrastinate") as name:
            self.env = {"JOBMILL_BENCH_DSN": pg_uri(name)}
            os.environ.update(self.env)
            subprocess.run(
                [script("procrastinate"), APP, "schema", "--apply"],
                env=worker_env(self.env),
                check=True,
                capture_output=True,
            )
            self.tasks = importlib.import_module("bench.peers.procrastinate_app")
            yield

    def worker_command(self, tuned: bool) -> list[str]:
        return [script("procrastinate"), APP, "worker", *(TUNED if tuned else [])]

    @contextlib.contextmanager
    def client(self) -> Iterator[None]:
        with self.tasks.app.open():
            yield

    def enqueue_one(self, n: int) -> None:
        self.tasks.noop.defer(n=n)

    def enqueue_many(self, ns: Sequence[int]) -> None:
        self.tasks.noop.batch_defer(*({"n": n} for n in ns))
