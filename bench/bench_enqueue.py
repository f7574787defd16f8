"""Enqueue one by one and in bulk, and the overhead of ``now()`` over calling ``perform``."""

from __future__ import annotations

from pydantic import BaseModel

from jobmill import Job

from .databases import fresh_database
from .report import Report, stopwatch


class BenchParams(BaseModel):
    n: int


class BenchNoopJob(Job[BenchParams, int]):
    def perform(self, params: BenchParams) -> int:
        return params.n


def run(report: Report, backends: list[str]) -> None:
    for backend in backends:
        report.section(f"Enqueue and now() — {backend}")
        with fresh_database(backend):
            single = 1000
            with stopwatch() as elapsed:
                for n in range(single):
                    BenchNoopJob.later(n=n)
            one_by_one = single / elapsed()
            report.row(f"later(), one job per transaction ({single} jobs)", one_by_one, "jobs/s")

            bulk = [{"n": n} for n in range(10_000)]
            with stopwatch() as elapsed:
                BenchNoopJob.later_many(bulk)
            many = len(bulk) / elapsed()
            report.row(
                "later_many(), 10,000 jobs in one transaction",
                many,
                "jobs/s",
                f"{many / one_by_one:.1f}x later()",
            )

            calls = 300
            job = BenchNoopJob.__new__(BenchNoopJob)
            params = BenchParams(n=1)
            with stopwatch() as elapsed:
                for _ in range(calls * 100):
                    job.perform(params)
            direct = elapsed() / (calls * 100)
            with stopwatch() as elapsed:
                for n in range(calls):
                    BenchNoopJob.now(n=n)
            recorded = elapsed() / calls
            report.row("perform() called directly (baseline)", direct * 1e6, "µs/call")
            report.row(
                "now(): validate, record, run, record result",
                recorded * 1e6,
                "µs/call",
                f"{recorded / direct:,.0f}x direct; {recorded / (1 / one_by_one):.1f}x one later()",
            )
