"""Queries of finished jobs read the indexes of finished rows on a new SQLite
file (no ANALYZE): the counts, throughput, pruning and listings by status
must not scan the table, whose finished rows grow without bound."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from jobmill.clock import utcnow
from jobmill.states import JobStatus
from jobmill.store import Store
from jobmill.store.queries import JobFilter

FINISHED = 2_000


@pytest.fixture(scope="module")
def finished_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A new SQLite file with FINISHED completed or failed jobs and a few pending."""
    path: Path = tmp_path_factory.mktemp("finished") / "jobs.db"
    store = Store.from_url(f"sqlite:///{path}", pool_size=2)
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < :total)"
                " INSERT INTO jobs (id, job_name, queue, status, priority, params, attempts,"
                " max_attempts, run_at, enqueued_at, started_at, completed_at, updated_at)"
                " SELECT printf('%036d', n), 'FinishedPlanJob', 'q' || (n % 3),"
                " CASE WHEN n % 10 = 0 THEN 'failed' WHEN n > :total - 5 THEN 'pending'"
                " ELSE 'completed' END, 0, '{}', 1, 1, '2020-01-01 00:00:00',"
                " '2020-01-01 00:00:00', '2020-01-01 00:00:00',"
                " CASE WHEN n > :total - 5 AND n % 10 != 0 THEN NULL"
                " ELSE '2020-01-01 00:00:01' END, '2020-01-01 00:00:01' FROM g"
            ),
            {"total": FINISHED},
        )
    yield store
    store.dispose()


def plans(store: Store, call: Callable[[Store], Any]) -> list[str]:
    """EXPLAIN QUERY PLAN lines of every SELECT ``call`` sends."""
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            sent.append((statement, params))

    event.listen(store.engine, "before_cursor_execute", capture)
    try:
        call(store)
    finally:
        event.remove(store.engine, "before_cursor_execute", capture)
    assert sent
    with store.engine.connect() as conn:
        return [
            row[-1]
            for statement, params in sent
            for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
        ]


READS = {
    "counts by queue": lambda s: s.count_jobs_by_queue_and_status(),
    "finished since": lambda s: s.count_finished_since(utcnow() - timedelta(days=1)),
    "prunable": lambda s: s.count_prunable_jobs(utcnow()),
    "throughput": lambda s: s.throughput(timedelta(minutes=1), 3),
    "durations": lambda s: s.job_duration_percentiles(utcnow() - timedelta(days=1)),
    "count failed": lambda s: s.count_jobs(JobFilter(status=JobStatus.FAILED)),
    "failed ids": lambda s: s.failed_job_ids("FinishedPlanJob"),
}


@pytest.mark.parametrize("read", READS.values(), ids=READS.keys())
def test_finished_reads_use_an_index_not_the_table(
    finished_store: Store, read: Callable[[Store], Any]
) -> None:
    lines = plans(finished_store, read)
    assert any("ix_jobs_finished" in line for line in lines), lines
    assert not [line for line in lines if line.startswith("SCAN jobs") and "INDEX" not in line]


def test_counts_by_queue_read_covering_indexes_in_order(finished_store: Store) -> None:
    lines = plans(finished_store, lambda s: s.count_jobs_by_queue_and_status())
    # Pending and finished rows, which may be many, are found by an index of
    # theirs and grouped in its order (only the few running rows are sorted).
    for scan in ("USING INDEX ix_jobs_claim", "USING COVERING INDEX ix_jobs_finished_queue"):
        at = lines.index(f"SCAN jobs {scan}")
        assert "TEMP B-TREE" not in " ".join(lines[at + 1 : at + 2])
    counts = finished_store.count_jobs_by_queue_and_status()
    assert sum(counts.values()) == FINISHED
    assert sum(n for (_, status), n in counts.items() if status is JobStatus.FAILED) == 200


def test_prune_deletes_only_what_the_index_finds(finished_store: Store) -> None:
    lines = plans(finished_store, lambda s: s.count_prunable_jobs(utcnow(), [JobStatus.FAILED]))
    assert any("ix_jobs_finished" in line for line in lines)
    assert finished_store.count_prunable_jobs(utcnow(), [JobStatus.FAILED]) == {
        JobStatus.FAILED: 200
    }
