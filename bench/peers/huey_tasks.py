"""huey's side of the benchmark: a SQLite huey and the no-op task
(``huey_consumer bench.peers.huey_tasks.huey``)."""

from __future__ import annotations

import os

from huey import SqliteHuey

from ..marks import record

# Defaults, as huey's documentation configures SqliteHuey, on the bench's file.
huey = SqliteHuey(filename=os.environ["JOBMILL_BENCH_HUEY_DB"])


@huey.task()
def noop(n: int) -> None:
    record(n)
