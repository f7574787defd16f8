"""procrastinate's side of the benchmark: the app and the no-op task
(``procrastinate --app=bench.peers.procrastinate_app.app worker``)."""

from __future__ import annotations

import os

from procrastinate import App, PsycopgConnector

from ..marks import record

app = App(connector=PsycopgConnector(conninfo=os.environ["JOBMILL_BENCH_DSN"]))


@app.task(name="noop")
def noop(n: int) -> None:
    record(n)
