"""The systems measured with the shared workload: jobmill on each database and
the peers a user would pick instead. Each lives in its own module, imported
only in the process that measures it (so a peer that is missing or broken
fails alone)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import Peer


@dataclass(frozen=True)
class PeerInfo:
    """What the orchestrator knows of a system without importing it."""

    id: str  # section prefix, e.g. "pgqueuer"
    system: str  # name in the tables
    backend: str  # "sqlite" or "postgresql"
    target: str  # "module:Class"
    package: str  # distribution whose install status decides whether it runs


PEERS = (
    PeerInfo("jobmill-sqlite", "jobmill", "sqlite", "jobmill_peer:JobmillSQLite", "jobmill"),
    PeerInfo("huey", "huey", "sqlite", "huey_peer:HueyPeer", "huey"),
    PeerInfo(
        "jobmill-postgresql", "jobmill", "postgresql", "jobmill_peer:JobmillPostgres", "jobmill"
    ),
    PeerInfo("pgqueuer", "pgqueuer", "postgresql", "pgqueuer_peer:PgqueuerPeer", "pgqueuer"),
    PeerInfo(
        "procrastinate",
        "procrastinate",
        "postgresql",
        "procrastinate_peer:ProcrastinatePeer",
        "procrastinate",
    ),
    PeerInfo("oban", "oban", "postgresql", "oban_peer:ObanPeer", "oban"),
)


def load_peer(info: PeerInfo, workdir: Path) -> Peer:
    """Import the peer's module (and so its library) and build it."""
    module_name, class_name = info.target.split(":")
    module = importlib.import_module(f"{__name__}.{module_name}")
    peer: Peer = getattr(module, class_name)(workdir)
    return peer
