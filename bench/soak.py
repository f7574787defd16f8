"""The soak: ``jobmill selftest --kill-workers`` over a large queue — worker
processes SIGKILLed and frozen with SIGSTOP at random while they drain it —
reporting lost jobs, duplicate completions and the throughput reached."""

from __future__ import annotations

from pathlib import Path

from jobmill.selftest.run import run_selftest

from .config import Counts
from .peers.jobmill_peer import configured, jobmill_database
from .results import Figure


def run(counts: Counts, workdir: Path, backend: str) -> list[Figure]:
    with jobmill_database(backend, "soak", workdir) as url, configured(url):
        report = run_selftest(
            counts.soak,
            counts.soak_processes,
            kill_workers=True,
            seconds=counts.soak_seconds,
            seed=0,
        )
    tally = report.tally
    detail = (
        f"{tally.jobs:,} jobs, {report.processes} worker processes, {report.kills} SIGKILLs,"
        f" {report.freezes} SIGSTOPs; {len(tally.ran_again):,} ran again after a kill;"
        f" {tally.completed:,} completed in {report.elapsed:.0f} s"
    )
    return [
        Figure("soak_lost", "jobmill", backend, len(tally.lost), "jobs", detail),
        Figure("soak_duplicated", "jobmill", backend, len(tally.duplicated), "jobs", detail),
        Figure("soak_throughput", "jobmill", backend, report.throughput, "jobs/s", detail),
    ]
