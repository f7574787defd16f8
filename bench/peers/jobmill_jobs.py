"""The benchmark's no-op job for jobmill (``JOBMILL_IMPORTS=bench.peers.jobmill_jobs``)."""

from __future__ import annotations

from pydantic import BaseModel

from jobmill import Job

from ..marks import record


class BenchParams(BaseModel):
    n: int


class BenchNoopJob(Job[BenchParams, None]):
    """Takes a small int and does nothing but note its start."""

    def perform(self, params: BenchParams) -> None:
        record(params.n)
