"""Enqueueing on PostgreSQL: one job is one statement that also notifies, many
are a COPY and one notification per queue; pooled connections lost while idle
are replaced, one lost while in use fails the enqueue clearly and is replaced."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.exc import OperationalError

import jobmill
from jobmill import Job, JobStatus, runtime
from jobmill.store import Store, dialects
from jobmill.store.listen import PostgresListener
from test_postgres_listen import Inbox, create_tables, notify, terminate, unique


class PgEnqueueJob(Job[dict[str, int], None]):
    def perform(self, params: dict[str, int]) -> None:
        pass


@pytest.fixture
def app_name() -> str:
    return unique("jobmill_enqueue")


@pytest.fixture
def store(pg_schema_url: str, app_name: str) -> Iterator[Store]:
    """jobmill configured on a fresh schema; its sessions carry ``app_name``."""
    url = f"{pg_schema_url}&application_name={app_name}"
    jobmill.configure(database_url=url, auto_upgrade=True)
    try:
        yield runtime.get_store()
    finally:
        runtime.reset()


@pytest.fixture
def inbox(store: Store, pg_schema_url: str) -> Iterator[Inbox]:
    inbox, listener = Inbox(), PostgresListener(create_tables(pg_schema_url))
    listener.start(inbox)
    assert listener.connected.wait(10)
    yield inbox
    listener.stop()


def test_one_job_is_one_statement_that_notifies(store: Store, inbox: Inbox) -> None:
    queue = unique("single")
    job_id = PgEnqueueJob.set(queue=queue).later({"n": 1})
    assert inbox.wait_for(queue)
    assert store.get_job(job_id).status is JobStatus.PENDING


def test_many_jobs_notify_each_queue_once(store: Store, inbox: Inbox, pg_schema_url: str) -> None:
    first, second, marker = unique("bulk"), unique("bulk"), unique("marker")
    many = PgEnqueueJob.set(queue=first).build_many([{"n": n} for n in range(3)])
    one = PgEnqueueJob.set(queue=second).build({"n": 3})

    ids = store.enqueue([many, one])

    notify(pg_schema_url, marker)  # arrives after anything the enqueue sent
    assert inbox.wait_for(marker)
    assert (inbox.payloads.count(first), inbox.payloads.count(second)) == (1, 1)
    assert [store.get_job(job_id).queue for job_id in ids] == [first] * 3 + [second]


def test_a_connection_lost_while_idle_is_replaced_before_use(
    store: Store, app_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    PgEnqueueJob.later({"n": 1})
    monkeypatch.setattr(dialects, "PING_AFTER_IDLE", 0.0)  # every pooled connection is idle
    assert terminate(app_name) >= 1

    job_id = PgEnqueueJob.later({"n": 2})
    assert store.get_job(job_id).params == {"n": 2}


def test_a_connection_lost_in_use_fails_the_enqueue_and_is_replaced(
    store: Store, app_name: str
) -> None:
    PgEnqueueJob.later({"n": 1})
    assert terminate(app_name) >= 1  # the pooled connection was used just now: not pinged

    new_jobs = PgEnqueueJob.set().build({"n": 2})
    with pytest.raises(OperationalError) as lost:
        store.enqueue([new_jobs])
    assert lost.value.connection_invalidated
    assert store.enqueue([new_jobs]) == [new_jobs.id]


def test_psycopg_prepares_statements_after_five_runs(store: Store) -> None:
    # The one setting to change for PgBouncer in transaction mode (None: never).
    assert dialects.POSTGRES_CONNECT_DEFAULTS["prepare_threshold"] == 5
    with store.driver.connection() as connection:
        assert connection.prepare_threshold == 5
