"""Jobs run in the caller (``now``, ``execute_from_database``): locks, cancellation."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import event

import jobmill
from jobmill import Job, JobFailed, JobStatus, runtime
from jobmill.store import JobFilter

started: dict[str, threading.Event] = {}
job_ids: dict[str, str] = {}


@pytest.fixture
def short_locks(database_url: str) -> Iterator[None]:
    """Locks of one second, so the caller's heartbeat comes every quarter second."""
    jobmill.configure(
        database_url=database_url, lock_timeout=1, progress_interval=0, auto_upgrade=True
    )
    try:
        yield
    finally:
        _wait_for_idle_keepers()  # one mid-heartbeat would hold a connection past reset
        runtime.reset()


def _wait_for_idle_keepers(timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while any(t.name == "jobmill-keeper" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the lock keeper did not go idle"
        time.sleep(0.02)


class CallerCancellableJob(Job[dict[str, str], str]):
    """Publishes its id, then works until asked to stop (or 10 s pass)."""

    def perform(self, params: dict[str, str]) -> str:
        job_ids[params["tag"]] = self.id
        started[params["tag"]].set()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            self.raise_if_cancelled()
            time.sleep(0.02)
        return "never asked to stop"


def _cancel_when_started(tag: str) -> threading.Thread:
    started[tag] = threading.Event()

    def cancel() -> None:
        assert started[tag].wait(10)
        jobmill.cancel(job_ids[tag])

    thread = threading.Thread(target=cancel)
    thread.start()
    return thread


def test_cancel_reaches_a_job_run_with_now(short_locks: None) -> None:
    canceller = _cancel_when_started("now")
    with pytest.raises(JobFailed) as caught:
        CallerCancellableJob.now({"tag": "now"})
    canceller.join()
    assert caught.value.metadata.status is JobStatus.CANCELLED


def test_cancel_reaches_a_job_run_with_execute_from_database(short_locks: None) -> None:
    job_id = CallerCancellableJob.later({"tag": "exec"})
    canceller = _cancel_when_started("exec")
    result = CallerCancellableJob.execute_from_database(job_id)
    canceller.join()
    assert result.metadata.status is JobStatus.CANCELLED
    assert not result.ok


class CallerSlowAsyncJob(Job[None, str]):
    async def perform(self, params: None) -> str:
        await asyncio.sleep(10)
        return "finished"


def test_anow_cancelled_by_its_caller_ends_cancelled_not_running(short_locks: None) -> None:
    store = runtime.get_store()  # opened first, so the timeout hits inside perform

    async def impatient() -> None:
        await asyncio.wait_for(CallerSlowAsyncJob.anow(), 0.5)

    with pytest.raises(TimeoutError):
        asyncio.run(impatient())

    [record] = store.list_jobs(JobFilter(job_name="CallerSlowAsyncJob"))
    assert record.status is JobStatus.CANCELLED
    assert record.worker_id is not None and record.locked_until is None


class CallerEchoJob(Job[dict[str, int], int]):
    def perform(self, params: dict[str, int]) -> int:
        return params["n"]


def test_jobs_run_in_the_caller_refuse_dependencies(short_locks: None) -> None:
    parent = CallerEchoJob.later({"n": 1})  # pending: a dependent must wait for it
    waiting = CallerEchoJob.set(depends_on=[parent])
    with pytest.raises(ValueError, match=f"depends_on: now\\(\\) .* cannot wait for {parent}"):
        waiting.now({"n": 2})
    with pytest.raises(ValueError, match="depends_on: batch\\(\\)"):
        waiting.batch([{"n": 2}])
    with pytest.raises(ValueError, match="depends_on: anow\\(\\)"):
        asyncio.run(waiting.anow({"n": 2}))
    with pytest.raises(ValueError, match="depends_on: abatch\\(\\)"):
        asyncio.run(waiting.abatch([{"n": 2}]))
    assert runtime.get_store().count_jobs() == 1  # nothing stored, nothing ran


def test_now_takes_its_result_from_the_finishing_write(short_locks: None) -> None:
    store = runtime.get_store()
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        result = CallerEchoJob.now({"n": 7})
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
    assert (result.data, result.metadata.status, result.metadata.result) == (
        7,
        JobStatus.COMPLETED,
        7,
    )
    assert not [s for s in statements if s.lstrip().upper().startswith("SELECT")]


def test_anow_cancelled_while_its_row_is_stored_ends_cancelled(short_locks: None) -> None:
    store = runtime.get_store()

    async def give_up_at_once() -> None:
        task = asyncio.ensure_future(CallerSlowAsyncJob.anow())
        await asyncio.sleep(0)  # the task now waits for its row to be stored
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(give_up_at_once())  # returns once the storing thread is done

    [record] = store.list_jobs(JobFilter(job_name="CallerSlowAsyncJob"))
    assert record.status is JobStatus.CANCELLED


class CallerNanJob(Job[None, float]):
    def perform(self, params: None) -> float:
        return float("nan")


def test_a_nan_result_fails_the_job_clearly_instead_of_breaking_the_write(
    short_locks: None,
) -> None:
    with pytest.raises(JobFailed) as caught:
        CallerNanJob.now()
    assert caught.value.metadata.status is JobStatus.FAILED
    assert "cannot be stored as JSON" in (caught.value.metadata.error or "")


class CallerNulResultJob(Job[None, str]):
    def perform(self, params: None) -> str:
        return "binary\x00data"


class CallerNulErrorJob(Job[None, None]):
    def perform(self, params: None) -> None:
        raise ValueError("bad byte \x00 here")


def test_outcomes_the_database_refuses_still_end_the_job(short_locks: None) -> None:
    result = CallerNulResultJob.set().batch([None])[0]
    # PostgreSQL would refuse the NUL; it is refused on both databases alike.
    assert result.metadata.status is JobStatus.FAILED
    assert (
        "CallerNulResultJob returned str that cannot be stored as JSON: result: contains a NUL"
        in (result.metadata.error or "")
    )

    with pytest.raises(JobFailed) as caught:
        CallerNulErrorJob.now()
    assert caught.value.metadata.error == "ValueError: bad byte \\x00 here"


class CallerNulProgressJob(Job[None, None]):
    def perform(self, params: None) -> None:
        self.update_progress(50, "half\x00way")


def test_a_progress_message_with_a_nul_character_is_stored_escaped(short_locks: None) -> None:
    result = CallerNulProgressJob.now()
    assert result.metadata.status is JobStatus.COMPLETED
    assert result.metadata.progress_message == "half\\x00way"
