"""Enqueue's rows on both databases: one job (a single statement) and many (one
transaction: executemany on SQLite, COPY on PostgreSQL) store every column
alike, a batch whose insert fails part-way stores none of it, unique keys
hold under concurrent enqueuers, and the async twins leave the event loop free."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError

import jobmill
from jobmill import Job, JobNotFound, JobStatus
from jobmill.clock import utcnow
from jobmill.codec import Codec
from jobmill.storable import MAX_DEPTH, MAX_INT_DIGITS, plainly_storable
from jobmill.store import Store
from jobmill.store.listen import connect_kwargs


class RowsParams(BaseModel):
    text: str
    n: int | None = None


class EnqueueRowsJob(Job[RowsParams, None]):
    queue = "rows"
    max_attempts = 2

    def perform(self, params: RowsParams) -> None:
        pass


class NoParamsRowsJob(Job[None, None]):
    def perform(self, params: None) -> None:
        pass


# Text COPY and JSON both escape: backslashes, tabs, newlines, quotes, and
# characters beyond ASCII and beyond the Basic Multilingual Plane.
AWKWARD = 'ünïcødé \\ back\\slash \t tab \n newline "quoted" \\N 😀'


def enqueue(dispatch: Any, items: list[dict[str, Any]]) -> list[str]:
    """One item through ``later`` (the single statement), several through ``later_many``."""
    if len(items) == 1:
        return [dispatch.later(items[0])]
    return list(dispatch.later_many(items))


@pytest.mark.parametrize("count", [1, 3], ids=["later", "later_many"])
def test_every_column_is_stored_as_given(configured: Store, count: int) -> None:
    run_at = (utcnow() + timedelta(hours=1)).replace(microsecond=123456)
    dispatch = EnqueueRowsJob.set(
        queue="q\tu\\eue ü", priority=-3, run_at=run_at, max_attempts=4, timeout=2.5
    )
    before = utcnow()
    items = [{"text": f"{AWKWARD} {n}", "n": None if n else n} for n in range(count)]

    ids = enqueue(dispatch, items)

    for job_id, item in zip(ids, items, strict=True):
        job = configured.get_job(job_id)
        assert (job.job_name, job.queue, job.status, job.priority) == (
            "EnqueueRowsJob",
            "q\tu\\eue ü",
            JobStatus.PENDING,
            -3,
        )
        assert (job.max_attempts, job.timeout, job.unique_key, job.attempts) == (4, 2.5, None, 0)
        assert job.params == item
        assert job.run_at == run_at
        assert before <= job.enqueued_at <= job.updated_at <= utcnow()
        assert (job.cron_job_id, job.started_at, job.locked_until) == (None, None, None)


@pytest.mark.parametrize("count", [1, 3], ids=["later", "later_many"])
def test_defaults_null_timeout_and_no_params_are_stored(configured: Store, count: int) -> None:
    [job_id, *_] = enqueue(EnqueueRowsJob.set(), [{"text": "x"}] * count)
    job = configured.get_job(job_id)
    assert (job.queue, job.priority, job.max_attempts, job.timeout) == ("rows", 0, 2, None)
    assert job.enqueued_at <= job.run_at == job.updated_at
    assert job.params == {"text": "x", "n": None}

    [bare, *_] = enqueue(NoParamsRowsJob.set(), [{}] * count)
    assert configured.get_job(bare).params is None


def test_a_batch_whose_insert_fails_part_way_stores_none_of_it(configured: Store) -> None:
    taken = EnqueueRowsJob.later(text="already here")
    batch = EnqueueRowsJob.set().build_many([{"text": str(n)} for n in range(6)])
    ids = [*batch.ids[:4], taken, batch.ids[5]]

    with pytest.raises(IntegrityError):
        configured.enqueue([replace(batch, ids=ids)])
    with pytest.raises(IntegrityError), configured.engine.begin() as conn:
        configured.enqueue([replace(batch, ids=ids)], connection=conn)
    with pytest.raises(IntegrityError):
        configured.enqueue([replace(EnqueueRowsJob.set().build({"text": "x"}), ids=[taken])])

    for lost in batch.ids:
        with pytest.raises(JobNotFound):
            configured.get_job(lost)
    assert configured.get_job(taken).params == {"text": "already here", "n": None}
    # The connections that saw the errors were not pooled again: the next
    # enqueues work, one by one and in bulk.
    assert len(EnqueueRowsJob.later_many([{"text": "a"}, {"text": "b"}])) == 2
    assert configured.get_job(EnqueueRowsJob.later(text="c")).status is JobStatus.PENDING


def enqueue_at_once(stores: list[Store], key: str) -> list[str]:
    """Each store enqueues a job with unique key ``key``, all released together."""
    start, got = threading.Barrier(len(stores)), []

    def race(store: Store, n: int) -> None:
        new_jobs = EnqueueRowsJob.set(unique_key=key).build({"text": str(n)})
        start.wait()
        got.extend(store.enqueue([new_jobs]))

    threads = [threading.Thread(target=race, args=(s, n)) for n, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return got


def test_unique_key_holds_under_concurrent_enqueuers(database_url: str) -> None:
    # A store each, as separate processes would have: no shared pool, and on
    # SQLite no shared write gate, so the enqueuers meet in the database.
    stores = [Store.from_url(database_url, pool_size=2) for _ in range(4)]
    try:
        for round_ in range(5):
            key = f"report-{round_}"
            got = enqueue_at_once(stores, key)
            assert len(got) == len(stores) and len(set(got)) == 1
            holders = [job.id for job in stores[0].list_jobs() if job.unique_key == key]
            assert holders == got[:1]
    finally:
        for store in stores:
            store.dispose()


@contextmanager
def writes_blocked(store: Store, database_url: str) -> Iterator[threading.Event]:
    """Hold the ``jobs`` table against writers (SQLite: the write lock; PostgreSQL:
    a SHARE lock on the table) until the yielded event is set."""
    release, held = threading.Event(), threading.Event()

    def hold() -> None:
        if store.dialect.name == "sqlite":
            conn = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")
        else:
            conn = psycopg.connect(**connect_kwargs(database_url))
            conn.execute("LOCK TABLE jobs IN SHARE MODE")
        held.set()
        release.wait(30)
        conn.rollback()
        conn.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)
    try:
        yield release
    finally:
        release.set()
        holder.join()


def test_async_twins_leave_the_event_loop_free_while_the_database_waits(
    configured: Store, database_url: str
) -> None:
    async def enqueue_while_blocked(release: threading.Event) -> tuple[int, list[str]]:
        ticks = 0
        enqueues = asyncio.gather(
            EnqueueRowsJob.alater(text="one"),
            EnqueueRowsJob.alater_many([{"text": "two"}, {"text": "three"}]),
        )
        while ticks < 10:
            await asyncio.sleep(0.01)
            ticks += 1
        assert not enqueues.done()  # still waiting on the database
        release.set()
        one, many = await enqueues
        return ticks, [one, *many]

    with writes_blocked(configured, database_url) as release:
        ticks, ids = asyncio.run(enqueue_while_blocked(release))
    assert ticks == 10
    assert [jobmill.get(job_id).status for job_id in ids] == [JobStatus.PENDING] * 3


@pytest.mark.parametrize(
    "value",
    [
        {"a": 1, "b": [1.5, "x", True]},
        {"a": None},
        "a literal backslash-u: \\u0000",
        [[[[]]]],
        10**100,
        "ünïcødé 😀",
        None,
    ],
)
def test_encoded_params_read_back_as_the_dumped_value(value: Any) -> None:
    codec = Codec("EncodeJob", Any, Any)
    encoded = codec.encode_params(value)
    assert (None if encoded is None else json.loads(encoded)) == codec.dump_params(value)


@pytest.mark.parametrize(
    ("encoded", "plain"),
    [
        (b'{"n":5}', True),
        (b'{"n":null}', False),
        (b"NaN", False),
        (b"[Infinity]", False),
        (b'"\\u0000"', False),
        (b"[" * MAX_DEPTH + b"]" * MAX_DEPTH, True),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), False),
        (b'["' + b"x" * 1000 + b'"]', True),
        (b"9" * MAX_INT_DIGITS, True),
        (b"9" * (MAX_INT_DIGITS + 1), False),
    ],
)
def test_plainly_storable_leaves_nothing_json_problems_would_find(
    encoded: bytes, plain: bool
) -> None:
    assert plainly_storable(encoded) is plain


def test_a_forked_child_takes_none_of_its_parents_connections(sqlite_configured: Store) -> None:
    EnqueueRowsJob.later(text="parent")
    assert sqlite_configured.driver._spares  # kept for the next enqueue
    pid = os.fork()
    if pid == 0:  # the child: it must open its own
        fresh = not sqlite_configured.driver._spares
        os._exit(0 if fresh and EnqueueRowsJob.later(text="child") else 1)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    EnqueueRowsJob.later(text="parent again")
    assert sqlite_configured.count_jobs() == 3
