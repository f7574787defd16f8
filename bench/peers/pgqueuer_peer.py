"""pgqueuer (asyncpg, its recommended driver): ``Queries.enqueue`` one job per
call and a list per call for bulk; ``pgq run`` as the worker."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import AsyncIterator, Iterator, Sequence

import asyncpg
from pgqueuer import Queries

from ..databases import fresh_pg_database, pg_uri
from ..processes import script, worker_env
from .base import AsyncPeer

FACTORY = "bench.peers.pgqueuer_app:main"
# pgqueuer's performance guide: a larger batch_size for short jobs (default 10).
TUNED = ["--batch-size", "100"]


class PgqueuerPeer(AsyncPeer):
    system = "pgqueuer"
    backend = "postgresql"
    package = "pgqueuer"
    default_detail = "`pgq run` (batch size 10)"
    tuned_detail = f"`pgq run {' '.join(TUNED)}`"
    bulk_api = "Queries.enqueue(list)"
    queries: Queries

    @contextlib.contextmanager
    def database(self) -> Iterator[None]:
        with fresh_pg_database("pgqueuer") as name:
            self.env = {"JOBMILL_BENCH_DSN": pg_uri(name), "PGDSN": pg_uri(name)}
            subprocess.run(
                [script("pgq"), "install"],
                env=worker_env(self.env),
                check=True,
                capture_output=True,
            )
            yield

    def worker_command(self, tuned: bool) -> list[str]:
        return [script("pgq"), "run", FACTORY, *(TUNED if tuned else [])]

    @contextlib.asynccontextmanager
    async def aclient(self) -> AsyncIterator[None]:
        connection = await asyncpg.connect(self.env["JOBMILL_BENCH_DSN"])
        self.queries = Queries.from_asyncpg_connection(connection)
        try:
            yield
        finally:
            await connection.close()

    async def aenqueue_one(self, n: int) -> None:
        await self.queries.enqueue("noop", b"%d" % n)

    async def aenqueue_many(self, ns: Sequence[int]) -> None:
        await self.queries.enqueue(["noop"] * len(ns), [b"%d" % n for n in ns], [0] * len(ns))
