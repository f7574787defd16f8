"""Enqueueing on PostgreSQL: one job is one statement that also notifies, many
are a COPY and one notification per queue."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import jobmill
from jobmill import Job, JobStatus, runtime
from jobmill.store import Store
from jobmill.store.listen import PostgresListener
from test_postgres_listen import Inbox, create_tables, notify, unique


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
