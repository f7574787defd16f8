"""The ``workers`` table: who is running, where, and when it last heartbeated."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from jobmill.clock import utcnow
from jobmill.records import JobMetadata
from jobmill.states import JobStatus
from jobmill.store.base import StoreBase, metadata_from_row
from jobmill.store.schema import jobs, workers


@dataclass(frozen=True)
class WorkerInfo:
    """One live (or recently live) worker. ``queues`` None means every queue."""

    id: str
    hostname: str
    pid: int
    queues: tuple[str, ...] | None
    concurrency: int
    started_at: datetime
    heartbeat_at: datetime
    running_job_ids: tuple[str, ...] = ()


class WorkerOps(StoreBase):
    def register_worker(
        self,
        worker_id: str,
        hostname: str,
        pid: int,
        queues: Sequence[str] | None,
        concurrency: int,
        now: datetime | None = None,
    ) -> None:
        """Add this worker's row (replacing a stale row with the same id)."""
        now = now or utcnow()
        row: dict[str, Any] = {
            "id": worker_id,
            "hostname": hostname,
            "pid": pid,
            "queues": list(queues) if queues else None,
            "concurrency": concurrency,
            "started_at": now,
            "heartbeat_at": now,
        }
        with self.write() as conn:
            conn.execute(delete(workers).where(workers.c.id == worker_id))
            conn.execute(insert(workers), row)

    def heartbeat_worker(self, worker_id: str, now: datetime | None = None) -> bool:
        """Mark the worker alive; False if its row is gone (pruned while it was away)."""
        with self.write() as conn:
            changed = conn.execute(
                update(workers)
                .where(workers.c.id == worker_id)
                .values(heartbeat_at=now or utcnow())
            ).rowcount
        return bool(changed)

    def unregister_worker(self, worker_id: str) -> None:
        with self.write() as conn:
            conn.execute(delete(workers).where(workers.c.id == worker_id))

    def prune_workers(self, silent_since: datetime) -> int:
        """Remove rows of workers that have not heartbeated since ``silent_since``."""
        with self.write() as conn:
            return int(
                conn.execute(delete(workers).where(workers.c.heartbeat_at < silent_since)).rowcount
            )

    def list_workers(self) -> list[WorkerInfo]:
        """Every registered worker, oldest first, with the jobs it holds locks on."""
        with self.read() as conn:
            rows = conn.execute(select(workers).order_by(workers.c.started_at)).all()
            held = conn.execute(
                select(jobs.c.locked_by, jobs.c.id)
                .where(jobs.c.status == JobStatus.RUNNING)
                .order_by(jobs.c.id)
            ).all()
        running: dict[str, list[str]] = {}
        for worker_id, job_id in held:
            running.setdefault(worker_id, []).append(job_id)
        return [_worker_from_row(row._mapping, running.get(row.id, [])) for row in rows]

    def jobs_locked_by(self, worker_id: str) -> list[JobMetadata]:
        """The running jobs whose lock ``worker_id`` holds."""
        with self.read() as conn:
            rows = conn.execute(
                select(jobs).where(
                    jobs.c.status == JobStatus.RUNNING, jobs.c.locked_by == worker_id
                )
            ).all()
        return [metadata_from_row(row) for row in rows]


def _worker_from_row(data: Any, running: list[str]) -> WorkerInfo:
    queues = data["queues"]
    return WorkerInfo(
        id=data["id"],
        hostname=data["hostname"],
        pid=data["pid"],
        queues=tuple(queues) if queues else None,
        concurrency=data["concurrency"],
        started_at=data["started_at"],
        heartbeat_at=data["heartbeat_at"],
        running_job_ids=tuple(running),
    )
