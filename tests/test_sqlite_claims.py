"""The SQLite claim plan on a new database (no ANALYZE has run, so no statistics):
the claim reads a claim index in order and stops at the limit; it never sorts
the backlog of pending jobs in a temporary B-tree."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import text

from jobmill.clock import utcnow
from jobmill.store import Store
from jobmill.store.claims import ClaimRequest
from jobmill.store.hot import driver_statement
from test_store_claims import new_job

PENDING = 20_000
LIMIT = 10


@pytest.fixture(scope="module")
def backlog_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A new SQLite file with PENDING ready jobs on two queues, never analyzed."""
    path: Path = tmp_path_factory.mktemp("claims") / "jobs.db"
    store = Store.from_url(f"sqlite:///{path}", pool_size=2)
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < :total)"
                " INSERT INTO jobs (id, job_name, queue, status, priority, params, attempts,"
                " max_attempts, run_at, enqueued_at, updated_at)"
                " SELECT printf('%036d', n), 'SqlitePlanJob',"
                " CASE n % 2 WHEN 0 THEN 'even' ELSE 'odd' END, 'pending', 0, '{}', 0, 3,"
                " '2020-01-01 00:00:00', '2020-01-01 00:00:00', '2020-01-01 00:00:00' FROM g"
            ),
            {"total": PENDING},
        )
        stats = conn.execute(
            text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
        ).scalar_one()
        assert stats == 0
    yield store
    store.dispose()


def claim_plan(store: Store, queues: Sequence[str] | None, job_names: Sequence[str]) -> list[str]:
    """EXPLAIN QUERY PLAN of the exact statement ``claim_jobs`` sends its driver."""
    request, now = ClaimRequest("sqlite-plan-worker", LIMIT, 30, queues, job_names), utcnow()
    claimed = store.claim_jobs("sqlite-plan-worker", LIMIT, 30, queues, job_names, now)
    assert len(claimed) == LIMIT
    sent = driver_statement(request.statement(store.dialect), store.engine.dialect)
    statement, params = sent.bound(request.params(store.dialect, now))
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
    return [row[-1] for row in rows]


@pytest.mark.parametrize(
    ("queues", "index"),
    [(None, "ix_jobs_claim_order"), (["even"], "ix_jobs_claim")],
    ids=["all-queues", "one-queue"],
)
def test_claim_jobs_reads_a_claim_index_in_order(
    backlog_store: Store, queues: list[str] | None, index: str
) -> None:
    plan = claim_plan(backlog_store, queues, ["SqlitePlanJob", "SqliteOtherJob"])
    [scan] = [step for step in plan if "candidate" in step]
    assert f"USING INDEX {index}" in scan
    assert not [step for step in plan if "TEMP B-TREE" in step]


def test_claim_jobs_for_several_queues_reads_each_queue_index(backlog_store: Store) -> None:
    plan = claim_plan(backlog_store, ["even", "odd"], ["SqlitePlanJob"])
    scans = [step for step in plan if "candidate" in step]
    assert len(scans) == 2
    assert all("USING INDEX ix_jobs_claim " in f"{scan} " for scan in scans)
    # Only the union of the two bounded reads is sorted, once.
    assert len([step for step in plan if "TEMP B-TREE" in step]) == 1


def test_change_watch_sees_each_commit_of_another_connection_once(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'jobs.db'}")
    watch = store.dialect.change_watch(store.engine)
    assert watch is not None
    try:
        assert not watch.changed()
        store.enqueue([new_job()])
        assert watch.changed()
        assert not watch.changed()
        store.enqueue([new_job()])
        assert watch.changed()
    finally:
        watch.close()
        store.dispose()
    # A watch that cannot read says "changed", so the caller looks and meets the error.
    assert watch.changed()
