"""Progress with a write interval (the default path; the other tests write each
update at once): updates are written together, and every one of them reaches
the history — those still waiting when the attempt ends are written with its
outcome. Run in the caller and by a worker, sync and async, on SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

import jobmill
from jobmill import Job, runtime
from jobmill.worker import Worker

UPDATES = 20


class BatchedProgressJob(Job[None, str]):
    def perform(self, params: None) -> str:
        for step in range(1, UPDATES + 1):
            self.update_progress(step * 100 / UPDATES, f"step {step}")
        return "done"


class AsyncBatchedProgressJob(Job[None, str]):
    async def perform(self, params: None) -> str:
        for step in range(1, UPDATES + 1):
            await asyncio.sleep(0)
            self.update_progress(step * 100 / UPDATES, f"step {step}")
        return "done"


@pytest.fixture
def event_writes(database_url: str) -> Iterator[list[str]]:
    """jobmill on ``database_url`` with an interval no attempt here outlasts;
    yields one entry per statement that writes job events."""
    jobmill.configure(database_url=database_url, auto_upgrade=True, progress_interval=3600)
    store = runtime.get_store()
    writes: list[str] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO JOB_EVENTS"):
            writes.append(statement)

    yield writes
    runtime.reset()


def progress_of(job_id: str) -> list[tuple[float | None, str | None]]:
    return [(e.progress, e.message) for e in jobmill.history(job_id) if e.kind == "progress"]


EXPECTED = [(step * 100 / UPDATES, f"step {step}") for step in range(1, UPDATES + 1)]


@pytest.mark.parametrize("job", [BatchedProgressJob, AsyncBatchedProgressJob])
def test_every_update_of_a_caller_run_attempt_is_in_the_history(
    event_writes: list[str], job: type[Job[None, str]]
) -> None:
    result = job.now()

    assert progress_of(result.metadata.id) == EXPECTED
    assert result.metadata.progress_message == f"step {UPDATES}"
    assert len(event_writes) == 1  # all with the outcome, in one statement


@pytest.mark.parametrize("job", [BatchedProgressJob, AsyncBatchedProgressJob])
def test_every_update_of_a_worker_run_attempt_is_in_the_history(
    event_writes: list[str], job: type[Job[None, str]]
) -> None:
    ids = [job.later() for _ in range(3)]

    Worker(burst=True, scheduler=False, handle_signals=False).run()

    for job_id in ids:
        assert progress_of(job_id) == EXPECTED
        assert jobmill.get(job_id).status == "completed"
    assert 1 <= len(event_writes) <= 3  # at most one write per attempt, not one per update
