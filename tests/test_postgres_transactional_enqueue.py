"""``J.set(connection=conn).later(...)``: the job exists only if the caller's
transaction commits (both backends); on PostgreSQL the wake-up is delivered
with the commit, never before and never on rollback."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text

from jobmill import Job, JobNotFound, JobStatus
from jobmill.store import Store
from jobmill.store.listen import PostgresListener
from test_postgres_listen import Inbox, create_tables, notify


class PgTxEnqueueJob(Job[dict[str, int], int]):
    def perform(self, params: dict[str, int]) -> int:
        return params["n"]


class Rollback(Exception):
    pass


@pytest.fixture
def app_engine(configured: Store, database_url: str) -> Iterator[Engine]:
    """The application's own engine on the same database, with a table of its own."""
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE app_orders (id INTEGER PRIMARY KEY, job_id TEXT)"))
    yield engine
    engine.dispose()


def count_orders(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM app_orders")).scalar_one())


def test_later_with_connection_commits_with_the_callers_transaction(
    configured: Store, app_engine: Engine
) -> None:
    with app_engine.begin() as conn:
        job_id = PgTxEnqueueJob.set(connection=conn).later({"n": 1})
        conn.execute(text("INSERT INTO app_orders VALUES (1, :j)"), {"j": job_id})
    assert configured.get_job(job_id).status is JobStatus.PENDING
    assert count_orders(app_engine) == 1


def test_later_with_connection_rolls_back_with_the_callers_transaction(
    configured: Store, app_engine: Engine
) -> None:
    with pytest.raises(Rollback), app_engine.begin() as conn:
        job_id = PgTxEnqueueJob.set(connection=conn).later({"n": 1})
        many = PgTxEnqueueJob.set(connection=conn).later_many([{"n": 2}, {"n": 3}])
        conn.execute(text("INSERT INTO app_orders VALUES (1, :j)"), {"j": job_id})
        raise Rollback
    for lost in [job_id, *many]:
        with pytest.raises(JobNotFound):
            configured.get_job(lost)
    assert count_orders(app_engine) == 0


def test_job_is_invisible_to_others_until_the_commit(configured: Store, app_engine: Engine) -> None:
    with app_engine.begin() as conn:
        job_id = PgTxEnqueueJob.set(connection=conn).later({"n": 1})
        if configured.dialect.name == "postgresql":
            # On SQLite the open write transaction blocks other writers, and
            # readers see the last commit; PostgreSQL lets us claim meanwhile.
            assert configured.claim_jobs("pg-tx-worker", 10, 30) == []
        with pytest.raises(JobNotFound):
            configured.get_job(job_id)
    assert configured.get_job(job_id).status is JobStatus.PENDING


@pytest.fixture
def listening(pg_schema_url: str) -> Iterator[Inbox]:
    inbox, listener = Inbox(), PostgresListener(create_tables(pg_schema_url))
    listener.start(inbox)
    assert listener.connected.wait(10)
    yield inbox
    listener.stop()


def test_notify_arrives_only_after_commit(pg_schema_url: str, listening: Inbox) -> None:
    import jobmill
    from jobmill import runtime

    jobmill.configure(database_url=pg_schema_url, auto_upgrade=True)
    engine = create_engine(pg_schema_url)
    queue, marker = f"pgtx_{uuid.uuid4().hex[:10]}", f"pgtx_marker_{uuid.uuid4().hex[:10]}"
    try:
        with engine.begin() as conn:
            PgTxEnqueueJob.set(connection=conn, queue=queue).later({"n": 1})
            PgTxEnqueueJob.set(connection=conn, queue=queue).later_many([{"n": 2}, {"n": 3}])
            # Notifications reach a listener in commit order: once a marker
            # committed later has arrived, an earlier one would have too.
            notify(pg_schema_url, marker)
            assert listening.wait_for(marker)
            assert queue not in listening.payloads
        assert listening.wait_for(queue)
    finally:
        engine.dispose()
        runtime.reset()


def test_no_notify_after_rollback(pg_schema_url: str, listening: Inbox) -> None:
    import jobmill
    from jobmill import runtime

    jobmill.configure(database_url=pg_schema_url, auto_upgrade=True)
    engine = create_engine(pg_schema_url)
    queue, marker = f"pgtx_{uuid.uuid4().hex[:10]}", f"pgtx_marker_{uuid.uuid4().hex[:10]}"
    try:
        with pytest.raises(Rollback), engine.begin() as conn:
            PgTxEnqueueJob.set(connection=conn, queue=queue).later({"n": 1})
            PgTxEnqueueJob.set(connection=conn, queue=queue).later_many([{"n": 2}, {"n": 3}])
            raise Rollback
        notify(pg_schema_url, marker)
        assert listening.wait_for(marker)
        assert queue not in listening.payloads
    finally:
        engine.dispose()
        runtime.reset()
