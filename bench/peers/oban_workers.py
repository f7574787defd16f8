"""oban's side of the benchmark: the no-op worker, found by its import path
(``bench.peers.oban_workers.NoopWorker``) in the ``oban start`` process."""

from __future__ import annotations

from oban import Job, worker

from ..marks import record


@worker(queue="default")
class NoopWorker:
    async def process(self, job: Job) -> None:
        record(int(job.args["n"]))
