"""How much work each run does (full and quick), and where things live."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
BENCH = REPOSITORY / "bench"
RESULTS = BENCH / "results"
VENV = BENCH / ".venv"
# What bench/install.py could and could not install, written beside the venv.
INSTALL_STATUS = VENV / "install-status.json"

PG_ADMIN_DSN = os.environ.get(
    "JOBMILL_BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
DATABASE_PREFIX = "jobmill_bench"


@dataclass(frozen=True)
class Counts:
    """Job counts of one run. The full counts are SPEC §10's shared workload."""

    mode: str
    single: int = 5_000  # enqueue one by one
    bulk: int = 20_000  # enqueue in one call
    drain: int = 20_000  # queued jobs one worker process drains
    latency: int = 200  # jobs enqueued one at a time to an idle worker
    latency_interval: float = 0.020  # seconds between them
    memory: tuple[int, int] = (20_000, 200_000)  # jobs run before each RSS reading
    history: tuple[int, int] = (10_000, 1_000_000)  # finished jobs beside the pending
    history_claims: int = 5_000  # rows claimed per history size
    processes: int = 4  # worker processes on one database, beside 1
    backlog: tuple[int, int] = (3_000, 100_000)  # pending jobs
    backlog_window: int = 2_000  # jobs a worker runs per backlog size (or 20 s)
    raw_cycles: int = 5_000  # raw claim + complete, one row per transaction
    raw_batches: int = 100  # raw claim + complete, batches of 100
    startup_runs: int = 5  # ``jobmill --help`` runs
    soak: int = 100_000  # jobs of ``jobmill selftest --kill-workers``
    soak_processes: int = 3  # its worker processes
    soak_seconds: float = 1_500.0  # its --seconds: the longest it waits for the jobs
    section_timeout: float = 1_800.0  # seconds before one section is given up


FULL = Counts(mode="full")
QUICK = Counts(
    mode="quick",
    single=1_000,
    bulk=5_000,
    drain=2_000,
    latency=50,
    memory=(2_000, 20_000),
    history=(10_000, 100_000),
    history_claims=1_000,
    backlog=(3_000, 30_000),
    backlog_window=500,
    raw_cycles=1_000,
    raw_batches=30,
    startup_runs=3,
    soak=5_000,
    soak_seconds=300.0,
    section_timeout=600.0,
)


def counts_for(mode: str) -> Counts:
    """The counts of ``mode`` ("full" or "quick")."""
    if mode not in ("full", "quick"):
        raise ValueError(f"mode must be 'full' or 'quick', got {mode!r}")
    return FULL if mode == "full" else QUICK
