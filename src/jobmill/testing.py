"""Helpers for testing code that uses jobmill.

``inline()`` makes ``later`` run jobs at once; ``drain()`` runs everything that
is ready, then returns. Both use the configured database and the same code
path as a worker.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from jobmill import outcomes, registry
from jobmill.actors import caller_worker_id
from jobmill.dispatch import inline_mode
from jobmill.errors import UnknownJob
from jobmill.outcomes import Lock
from jobmill.runner import Runner
from jobmill.runtime import get_settings, get_store


@contextmanager
def inline() -> Iterator[None]:
    """Within the block, ``later()`` stores the job and runs it before returning.

    Jobs enqueued inside the caller's transaction (``set(connection=...)``)
    are left pending: they exist only once it commits; ``drain()`` runs them.
    """
    token = inline_mode.set(True)
    try:
        yield
    finally:
        inline_mode.reset(token)


def drain(queues: Sequence[str] | None = None, *, max_jobs: int = 100_000) -> int:
    """Run every ready job (in ``queues``, or all) until none is left; returns how many ran.

    Jobs scheduled for the future (including retries waiting for their backoff)
    are left pending. A job whose class is not registered ends failed.
    """
    store, settings = get_store(), get_settings()
    runner = Runner(store, settings.progress_interval)
    worker_id = caller_worker_id("drain")
    ran = 0
    while ran < max_jobs:
        claimed = store.claim_jobs(worker_id, 1, settings.lock_timeout, queues=queues)
        if not claimed:
            return ran
        record = claimed[0]
        try:
            job_class = registry.lookup(record.job_name)
        except UnknownJob as exc:
            store.record_outcome(Lock.of(record), outcomes.unknown_job(exc))
        else:
            runner.run(job_class, record)
        ran += 1
    return ran
