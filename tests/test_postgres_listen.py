"""PostgresListener against the real server: delivery, reconnection, logging, stop."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text

from conftest import PG_URL
from jobmill.store import Store
from jobmill.store.dialects import NOTIFY_CHANNEL_SQL
from jobmill.store.listen import PostgresListener, connect_kwargs


class Inbox:
    """Collects notification payloads; ``wait_for`` polls with a deadline."""

    def __init__(self) -> None:
        self.payloads: list[str] = []
        self.arrived = threading.Condition()

    def __call__(self, payload: str) -> None:
        with self.arrived:
            self.payloads.append(payload)
            self.arrived.notify_all()

    def wait_for(self, payload: str, timeout: float = 10.0) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: payload in self.payloads, timeout)


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def notify(url: str, payload: str) -> None:
    """Send ``payload`` on the channel of the schema ``url`` works in."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"SELECT pg_notify({NOTIFY_CHANNEL_SQL}, :p)"), {"p": payload})
    engine.dispose()


def create_tables(url: str) -> str:
    Store.from_url(url, pool_size=1).dispose()
    return url


@pytest.fixture
def jobs_url(pg_schema_url: str) -> str:
    """A fresh schema with jobmill's tables (the channel is named for it)."""
    return create_tables(pg_schema_url)


def terminate(application_name: str) -> int:
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        # The function sits in the select list, so it runs only for rows the
        # WHERE kept (in a WHERE, PostgreSQL may evaluate it for every row).
        killed = conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = :name AND pid <> pg_backend_pid()"
            ),
            {"name": application_name},
        ).scalars()
        count = sum(killed)
    engine.dispose()
    return count


@pytest.fixture
def start_listener(jobs_url: str) -> Iterator[Callable[..., tuple[PostgresListener, Inbox]]]:
    started: list[PostgresListener] = []

    def start(url: str = jobs_url, **options: float) -> tuple[PostgresListener, Inbox]:
        listener, inbox = PostgresListener(url, **options), Inbox()
        listener.start(inbox)
        started.append(listener)
        return listener, inbox

    yield start
    for listener in started:
        listener.stop()


def test_listener_calls_back_with_the_queue_name(
    start_listener: Callable[..., tuple], jobs_url: str
) -> None:
    listener, inbox = start_listener()
    assert listener.connected.wait(10)
    queue = unique("pglisten")
    notify(jobs_url, queue)
    assert inbox.wait_for(queue)


@contextmanager
def another_schema(name: str) -> Iterator[str]:
    """A second schema with jobmill's tables; yields its URL."""
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        yield create_tables(f"{PG_URL}?options=-csearch_path%3D{name}")
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def test_schemas_sharing_a_database_do_not_wake_each_other(
    start_listener: Callable[..., tuple], jobs_url: str
) -> None:
    _, inbox = start_listener()
    with another_schema(unique("t_other")) as other_url:
        other_queue, own_queue = unique("pglisten_other"), unique("pglisten_own")
        notify(other_url, other_queue)
        notify(jobs_url, own_queue)
        # Delivered in commit order: the later one arrived, the earlier never will.
        assert inbox.wait_for(own_queue)
        assert other_queue not in inbox.payloads


def test_a_long_schema_name_gets_a_hashed_channel(start_listener: Callable[..., tuple]) -> None:
    with another_schema(unique("t_long_" + "x" * 40)) as long_url:
        listener, inbox = start_listener(long_url)
        assert listener.connected.wait(10)
        queue = unique("pglisten_long")
        notify(long_url, queue)
        assert inbox.wait_for(queue)
    assert listener.channel.startswith("jobmill:")
    assert len(listener.channel.encode()) <= 63


def test_connect_kwargs_keep_url_options() -> None:
    kwargs = connect_kwargs(
        "postgresql://u:secret@127.0.0.1:5433/app?options=-csearch_path%3Dtenant&sslmode=disable"
    )
    assert kwargs == {
        "host": "127.0.0.1",
        "port": 5433,
        "dbname": "app",
        "user": "u",
        "password": "secret",
        "options": "-csearch_path=tenant",
        "sslmode": "disable",
    }


def test_listener_sets_its_search_path_from_the_url(jobs_url: str) -> None:
    schema = jobs_url.rsplit("%3D", 1)[1]
    name = unique("pglisten_sp")
    listener = PostgresListener(f"{jobs_url}&application_name={name}")
    listener.start(Inbox())
    try:
        assert listener.connected.wait(10)
        engine = create_engine(PG_URL)
        with engine.connect() as conn:
            # The listener's session is visible; its search_path came from the URL.
            rows = conn.execute(
                text("SELECT query FROM pg_stat_activity WHERE application_name = :n"),
                {"n": name},
            ).all()
        engine.dispose()
        assert [row.query for row in rows] == [f'LISTEN "jobmill:{schema}"']
        assert listener.channel == f"jobmill:{schema}"
        assert listener.connect_kwargs["options"] == f"-csearch_path={schema}"
    finally:
        listener.stop()


def test_listener_reconnects_after_its_backend_is_terminated(
    start_listener: Callable[..., tuple], jobs_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="jobmill.listen")
    name = unique("pglisten_kill")
    listener, inbox = start_listener(f"{jobs_url}&application_name={name}", backoff_min=0.05)
    assert listener.connected.wait(10)
    assert terminate(name) == 1

    deadline = time.monotonic() + 10
    queue = unique("pglisten_after")
    # Notifications sent while it is reconnecting are lost by design, so
    # keep sending until one arrives.
    while not inbox.wait_for(queue, timeout=0.2):
        assert time.monotonic() < deadline, "the listener never came back"
        notify(jobs_url, queue)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert warnings[0].startswith("LISTEN connection failed")
    assert warnings[1].startswith("LISTEN connection re-established")


def test_listener_logs_an_outage_once_however_many_retries(
    start_listener: Callable[..., tuple], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="jobmill.listen")
    # Nothing listens on port 1: every attempt fails at once.
    listener, _ = start_listener(
        "postgresql://postgres@127.0.0.1:1/test", backoff_min=0.01, backoff_max=0.02
    )
    deadline = time.monotonic() + 10
    while sum(r.levelno == logging.DEBUG for r in caplog.records) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    listener.stop()
    assert not listener.connected.is_set()
    assert sum(r.levelno == logging.WARNING for r in caplog.records) == 1


def test_a_failing_callback_does_not_stop_the_listener(
    jobs_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = Inbox()

    def callback(payload: str) -> None:
        inbox(payload)
        if payload.startswith("pglisten_boom"):
            raise RuntimeError("callback bug")

    listener = PostgresListener(jobs_url)
    listener.start(callback)
    try:
        assert listener.connected.wait(10)
        first, second = unique("pglisten_boom"), unique("pglisten_fine")
        notify(jobs_url, first)
        notify(jobs_url, second)
        assert inbox.wait_for(second)
        assert inbox.payloads.index(first) < inbox.payloads.index(second)
        assert "wake-up callback failed" in caplog.text
    finally:
        listener.stop()


def test_stop_closes_the_connection(jobs_url: str) -> None:
    name = unique("pglisten_stop")
    listener = PostgresListener(f"{jobs_url}&application_name={name}", wait_timeout=0.2)
    listener.start(Inbox())
    assert listener.connected.wait(10)
    listener.stop()
    assert not listener.connected.is_set()
    assert terminate(name) == 0


def test_a_listener_starts_once(jobs_url: str) -> None:
    listener = PostgresListener(jobs_url)
    listener.start(Inbox())
    try:
        with pytest.raises(RuntimeError, match="already started"):
            listener.start(Inbox())
    finally:
        listener.stop()
