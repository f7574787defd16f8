"""oban (oban-py, the Python port of Oban; needs Python >= 3.12): ``enqueue``
one job per call, ``Oban.enqueue_many`` for bulk, ``oban start`` as the worker."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import AsyncIterator, Iterator, Sequence

from oban import Oban

from ..databases import fresh_pg_database, pg_uri
from ..processes import script, worker_env
from .base import AsyncPeer
from .oban_workers import NoopWorker

# oban runs up to a queue's limit at once: 10 in its examples; more for short jobs.
DEFAULT_QUEUES = "default:10"
TUNED_QUEUES = "default:100"


class ObanPeer(AsyncPeer):
    system = "oban"
    backend = "postgresql"
    package = "oban"
    default_detail = f"`oban start --queues {DEFAULT_QUEUES}`"
    tuned_detail = f"`oban start --queues {TUNED_QUEUES}`"
    bulk_api = "Oban.enqueue_many()"
    oban: Oban

    @contextlib.contextmanager
    def database(self) -> Iterator[None]:
        with fresh_pg_database("oban") as name:
            self.env = {"OBAN_DSN": pg_uri(name)}
            subprocess.run(
                [script("oban"), "install"],
                env=worker_env(self.env),
                check=True,
                capture_output=True,
            )
            yield

    def worker_command(self, tuned: bool) -> list[str]:
        queues = TUNED_QUEUES if tuned else DEFAULT_QUEUES
        return [script("oban"), "start", "--queues", queues]

    @contextlib.asynccontextmanager
    async def aclient(self) -> AsyncIterator[None]:
        pool = await Oban.create_pool(self.env["OBAN_DSN"])
        try:
            async with Oban(pool=pool) as oban:
                self.oban = oban
                yield
        finally:
            await pool.close()

    async def aenqueue_one(self, n: int) -> None:
        await NoopWorker.enqueue({"n": n})

    async def aenqueue_many(self, ns: Sequence[int]) -> None:
        await self.oban.enqueue_many([NoopWorker.new({"n": n}) for n in ns])
