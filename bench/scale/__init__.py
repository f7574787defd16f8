"""jobmill at scale, beside itself: memory over many jobs, claims beside a large
history, several worker processes, a large backlog, and CLI start-up. Each
module's ``run(counts, workdir[, backend])`` returns its figures."""

from __future__ import annotations

from pathlib import Path

from ..peers.base import Peer
from ..peers.jobmill_peer import JobmillPeer, JobmillPostgres, JobmillSQLite


def jobmill_peer(backend: str, workdir: Path) -> JobmillPeer:
    """jobmill on ``backend``, to reuse its database, client and worker."""
    peer: JobmillPeer = (JobmillSQLite if backend == "sqlite" else JobmillPostgres)(workdir)
    return peer


__all__ = ["Peer", "jobmill_peer"]
