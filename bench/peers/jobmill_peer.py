"""jobmill, measured from this repository's code: ``jobmill worker`` in its own
process, as deployed; jobs enqueued with ``later()`` and ``later_many()``."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import jobmill
from jobmill import runtime

from ..databases import fresh_pg_database, pg_uri
from ..processes import script, worker_env
from .base import SyncPeer
from .jobmill_jobs import BenchNoopJob

JOBS_MODULE = "bench.peers.jobmill_jobs"
# The worker options documented for throughput.
TUNED = ["--prefetch", "500"]


@contextlib.contextmanager
def jobmill_database(backend: str, purpose: str, workdir: Path) -> Iterator[str]:
    """A fresh database with jobmill's schema (``jobmill db upgrade``); yields its URL."""
    if backend == "sqlite":
        path = workdir / f"{purpose}.db"
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        yield upgraded(f"sqlite:///{path}", workdir)
        return
    with fresh_pg_database(purpose) as name:
        yield upgraded(pg_uri(name, "postgresql+psycopg"), workdir)


def upgraded(url: str, workdir: Path) -> str:
    subprocess.run(
        [script("jobmill"), "db", "upgrade"],
        env=worker_env(jobmill_env(url)),
        cwd=workdir,
        check=True,
        capture_output=True,
    )
    return url


def jobmill_env(url: str) -> dict[str, str]:
    """What a ``jobmill worker`` of the bench is given: the database and the job module."""
    return {"JOBMILL_DATABASE_URL": url, "JOBMILL_IMPORTS": JOBS_MODULE}


@contextlib.contextmanager
def configured(url: str) -> Iterator[None]:
    """jobmill configured in this process for ``url``, its store open (as every
    peer's client is connected before the clock starts), reset after."""
    jobmill.configure(database_url=url)
    runtime.get_store()
    try:
        yield
    finally:
        runtime.reset()


def enqueue_many(ns: Sequence[int]) -> None:
    BenchNoopJob.later_many([{"n": n} for n in ns])


class JobmillPeer(SyncPeer):
    system = "jobmill"
    package = "jobmill"
    default_detail = "`jobmill worker`"
    tuned_detail = f"`jobmill worker {' '.join(TUNED)}`"
    bulk_api = "later_many()"

    @contextlib.contextmanager
    def database(self) -> Iterator[None]:
        with jobmill_database(self.backend, "jobmill", self.workdir) as url:
            self.env = jobmill_env(url)
            yield

    def worker_command(self, tuned: bool) -> list[str]:
        return [script("jobmill"), "worker", *(TUNED if tuned else [])]

    def client(self) -> contextlib.AbstractContextManager[None]:
        return configured(self.env["JOBMILL_DATABASE_URL"])

    def enqueue_one(self, n: int) -> None:
        BenchNoopJob.later(n=n)

    def enqueue_many(self, ns: Sequence[int]) -> None:
        enqueue_many(ns)


class JobmillSQLite(JobmillPeer):
    backend = "sqlite"


class JobmillPostgres(JobmillPeer):
    backend = "postgresql"
