"""Storage: SQLAlchemy Core over SQLite or PostgreSQL, one seam for the differences.

``Store`` gathers the operations by concern: enqueue, claims, recording
(the fenced writes about running jobs), queries, admin, workers, stats, cron.
Records come back frozen; no connection leaks out.
"""

from __future__ import annotations

from jobmill.store.admin import AdminOps
from jobmill.store.claims import ClaimOps
from jobmill.store.cron import CronOps
from jobmill.store.engine import ensure_schema, make_engine
from jobmill.store.enqueue import EnqueueOps, NewJobs
from jobmill.store.queries import JobFilter, JobState, QueryOps
from jobmill.store.record import RecordOps
from jobmill.store.stats import StatsOps
from jobmill.store.workers import WorkerInfo, WorkerOps


class Store(CronOps, EnqueueOps, ClaimOps, RecordOps, QueryOps, AdminOps, WorkerOps, StatsOps):
    """Every storage operation jobmill performs."""

    @classmethod
    def from_url(
        cls,
        url: str,
        pool_size: int = 10,
        auto_upgrade: bool | None = True,
        pg_pooler: str = "none",
    ) -> Store:
        """A store on ``url``, its schema upgraded when ``auto_upgrade`` (None: when
        the database's dialect upgrades on first use, as SQLite does);
        ``pg_pooler`` is the setting of that name."""
        engine, dialect = make_engine(url, pool_size, pg_pooler)
        upgrade = dialect.upgrades_automatically if auto_upgrade is None else auto_upgrade
        try:
            ensure_schema(engine, upgrade)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, dialect)


__all__ = ["JobFilter", "JobState", "NewJobs", "Store", "WorkerInfo"]
