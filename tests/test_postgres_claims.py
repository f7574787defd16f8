"""The PostgreSQL claim plan: SKIP LOCKED in a MATERIALIZED CTE whose LIMIT bounds
the rows scanned, locked and updated, read from the partial claim indexes even
with a large history of finished jobs, and before any statistics exist (a
fresh database right after a burst of enqueues)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, text

from conftest import PG_URL, require_postgres
from jobmill.clock import utcnow
from jobmill.outcomes import Lock, completed
from jobmill.store import Store
from jobmill.store.claims import ClaimRequest
from jobmill.store.hot import driver_statement
from jobmill.store.rounds import complete_and_claim, round_sent
from test_store_claims import new_job

LIMIT = 10
PENDING = 20_000
FINISHED = 30_000


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A new schema (no statistics of an earlier table left in it), as a URL."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module", params=["analyzed", "no-statistics"])
def backlog_store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """A schema of its own with PENDING ready jobs on two queues, beside FINISHED
    completed ones and with statistics (ANALYZE), or as a new database right
    after a burst of enqueues: no statistics (autovacuum kept off the table)."""
    with fresh_schema() as url:
        yield from _backlog(url, analyzed=request.param == "analyzed")


def _backlog(url: str, analyzed: bool) -> Iterator[Store]:
    store = Store.from_url(url, pool_size=2)
    finished = FINISHED if analyzed else 0
    with store.engine.begin() as conn:
        conn.execute(text("ALTER TABLE jobs SET (autovacuum_enabled = false)"))
        conn.execute(
            text(
                "INSERT INTO jobs (id, job_name, queue, status, priority, params, attempts,"
                " max_attempts, run_at, enqueued_at, updated_at, completed_at)"
                " SELECT lpad(g::text, 36, '0'), 'PgPlanJob', CASE g % 2 WHEN 0 THEN 'even'"
                " ELSE 'odd' END, CASE WHEN g <= :finished THEN 'completed' ELSE 'pending' END,"
                " g % 3, '{}', 0, 3, now() - interval '1 hour', now(), now(), now()"
                " FROM generate_series(1, :total) AS g"
            ),
            {"finished": finished, "total": finished + PENDING},
        )
        if analyzed:
            conn.execute(text("ANALYZE jobs"))
        else:
            tuples = conn.execute(
                text("SELECT reltuples FROM pg_class WHERE oid = 'jobs'::regclass")
            ).scalar_one()
            assert tuples < 0  # PostgreSQL has never gathered statistics on it
    yield store
    store.dispose()


def claim_plan(
    store: Store, queues: Sequence[str] | None, job_names: Sequence[str] | None = None
) -> dict[str, Any]:
    """EXPLAIN ANALYZE of the exact statement ``claim_jobs`` sends its driver (rolled back)."""
    request, now = ClaimRequest("pg-plan-worker", LIMIT, 30, queues, job_names), utcnow()
    claimed = store.claim_jobs("pg-plan-worker", LIMIT, 30, queues, job_names, now)
    assert len(claimed) == LIMIT
    sent = driver_statement(request.statement(store.dialect), store.engine.dialect)
    statement, params = sent.bound(request.params(store.dialect, now))
    with store.engine.connect() as conn, conn.begin() as transaction:
        store.dialect.steer_planner(conn)
        plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params)
        result: dict[str, Any] = plan.scalar_one()[0]["Plan"]
        transaction.rollback()
    return result


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def candidate_ctes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The CTEs that lock claim candidates, one per queue read."""
    return [n for n in nodes(plan) if str(n.get("Subplan Name", "")).startswith("CTE claimable")]


def candidate_scans(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The scans of ``jobs`` that find claim candidates (inside the CTEs)."""
    return [
        n
        for cte in candidate_ctes(plan)
        for n in nodes(cte)
        if n.get("Relation Name") == "jobs" and not str(n.get("Alias")).startswith("parent")
    ]


@pytest.mark.parametrize(
    ("queues", "job_names", "index"),
    [
        (["even"], None, "ix_jobs_claim"),
        (None, None, "ix_jobs_claim_order"),
        # Workers claim only the jobs they know.
        (["even"], ["PgPlanJob", "PgOtherJob"], "ix_jobs_claim"),
        (None, ["PgPlanJob", "PgOtherJob"], "ix_jobs_claim_order"),
    ],
    ids=["one-queue", "all-queues", "one-queue-known-jobs", "all-queues-known-jobs"],
)
def test_claim_jobs_plan_is_bounded_by_the_limit(
    backlog_store: Store, queues: list[str] | None, job_names: list[str] | None, index: str
) -> None:
    plan = claim_plan(backlog_store, queues, job_names)
    assert plan["Node Type"] == "ModifyTable"
    assert plan["Actual Rows"] == LIMIT
    [lock] = [n for n in nodes(plan) if n["Node Type"] == "LockRows"]
    assert lock["Actual Rows"] <= LIMIT
    [scan] = candidate_scans(plan)
    assert scan["Node Type"] == "Index Scan"
    assert scan["Index Name"] == index
    # Read in claim order and stopped at the limit: neither the backlog nor
    # the finished history is scanned or sorted.
    assert scan["Actual Rows"] <= LIMIT
    assert not [n for n in nodes(plan) if n["Node Type"] == "Sort"]


def test_claim_jobs_plan_for_several_queues_reads_each_queue_up_to_the_limit(
    backlog_store: Store,
) -> None:
    plan = claim_plan(backlog_store, ["even", "odd"])
    assert plan["Actual Rows"] == LIMIT
    scans = candidate_scans(plan)
    assert len(scans) == 2
    for scan in scans:
        assert scan["Node Type"] == "Index Scan"
        assert scan["Index Name"] == "ix_jobs_claim"
        assert scan["Actual Rows"] <= LIMIT
    locks = [n for n in nodes(plan) if n["Node Type"] == "LockRows"]
    assert len(locks) == 2 and all(lock["Actual Rows"] <= LIMIT for lock in locks)
    # Only the few rows read from the two queues are sorted, never the backlog.
    for sort in (n for n in nodes(plan) if n["Node Type"] == "Sort"):
        assert sort["Actual Rows"] <= 2 * LIMIT


def test_claims_pass_over_rows_another_transaction_holds(pg_schema_url: str) -> None:
    # A claim that waited for the held row would fail at this lock timeout instead.
    store = Store.from_url(f"{pg_schema_url}%20-clock_timeout%3D5000", auto_upgrade=True)
    try:
        batch = [new_job(priority=priority) for priority in range(6, 0, -1)]
        ids = store.enqueue(batch)
        with store.engine.connect() as holder, holder.begin():
            held = holder.execute(
                text("SELECT id FROM jobs WHERE id = :id FOR UPDATE"), {"id": ids[0]}
            ).scalar_one()
            assert held == ids[0]

            claimed = store.claim_jobs("w1", 2, 30)
            with worker_round_connection(store) as conn:
                _, in_round = complete_and_claim(
                    conn, store.dialect, [], ClaimRequest("w2", 2, 30), utcnow()
                )

            assert [job.id for job in claimed] == ids[1:3]
            assert [job.id for job in in_round] == ids[3:5]
        # Once let go, the row is claimed like any other, first by its priority.
        assert [job.id for job in store.claim_jobs("w3", 6, 30)] == [ids[0], ids[5]]
    finally:
        store.dispose()


@contextmanager
def worker_round_connection(store: Store) -> Iterator[Connection]:
    """A connection as a worker's rounds use it: autocommit, its planner steered."""
    with store.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        store.dialect.steer_planner(conn, session=True)
        try:
            yield conn
        finally:
            store.dialect.unsteer_planner(conn)


def test_a_round_finds_the_jobs_it_completes_by_id(backlog_store: Store) -> None:
    """The completions of a worker's round look each row up by primary key: the
    batch is never joined with the index of running jobs, whose entries (dead
    ones included) a plan without statistics would visit for every row."""
    store, batch = backlog_store, 200
    running = store.claim_jobs("pg-round-worker", batch, 30)
    ended = [(Lock.of(job), completed(None)) for job in running]
    claim, now = ClaimRequest("pg-round-worker", LIMIT, 30), utcnow()
    with store.engine.connect() as conn, conn.begin() as transaction:
        store.dialect.steer_planner(conn)
        done, _ = complete_and_claim(conn, store.dialect, ended, claim, now)
        assert len(done) == batch
        statement, params = round_sent(conn, store.dialect, ended, claim, now)
        transaction.rollback()
    with store.engine.connect() as conn, conn.begin() as transaction:
        store.dialect.steer_planner(conn)
        explained = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params)
        plan: dict[str, Any] = explained.scalar_one()[0]["Plan"]
        transaction.rollback()
    [completing] = [n for n in nodes(plan) if n.get("Subplan Name") == "CTE done"]
    assert completing["Actual Rows"] == batch
    [scan] = [
        n
        for n in nodes(completing)
        if "Scan" in n["Node Type"] and n.get("Relation Name") == "jobs"
    ]
    assert (scan["Node Type"], scan["Index Name"]) == ("Index Scan", "jobs_pkey")
    assert scan["Actual Loops"] == batch and scan["Actual Rows"] == 1
    assert all(n.get("Rows Removed by Join Filter", 0) == 0 for n in nodes(completing))


def test_a_round_claims_only_the_queues_and_job_names_asked_for(pg_schema_url: str) -> None:
    store = Store.from_url(pg_schema_url, auto_upgrade=True)
    try:
        wanted, other_queue, other_name = new_job(), new_job(queue="mail"), new_job(name="Other")
        store.enqueue([wanted, other_queue, other_name])
        [running] = store.claim_jobs("w1", 1, 30, job_names=["StoreJob"], queues=["default"])
        rest = ClaimRequest("w2", 10, 30, ["default"], ["StoreJob"])
        store.enqueue([again := new_job()])

        with worker_round_connection(store) as conn:
            done, claimed = complete_and_claim(
                conn, store.dialect, [(Lock.of(running), completed(1))], rest, utcnow()
            )

        assert done == {(wanted.id, 1)}
        assert [job.id for job in claimed] == [again.id]
        assert store.get_job(wanted.id).result == 1
    finally:
        store.dispose()
