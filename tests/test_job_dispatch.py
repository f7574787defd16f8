"""now / later / later_many / execute_from_database on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

import jobmill
from foundation_jobs import (
    AsyncProgressJob,
    BoomError,
    DataclassJob,
    FoundationFailingJob,
    LongRunningJob,
    PlainJob,
    SendEmail,
    SendEmailJob,
    SendEmailParams,
    SendEmailResult,
    Size,
    SyncTimeoutJob,
    TimeoutJob,
    TypedDictJob,
    UnserialisableJob,
    build_report,
)
from jobmill import InvalidParams, Job, JobFailed, JobStateError, JobStatus
from jobmill.store import Store


def test_now_returns_typed_result_and_metadata(configured: Store) -> None:
    result = SendEmailJob.now(to="a@example.com", subject="Hi")

    assert result.ok
    assert result.data == SendEmailResult(message_id="msg-a@example.com")
    meta = result.metadata
    assert meta.job_name == "SendEmailJob"
    assert meta.queue == "mail"
    assert meta.status is JobStatus.COMPLETED
    assert meta.params == {"to": "a@example.com", "subject": "Hi", "body": ""}
    assert meta.result == {"message_id": "msg-a@example.com"}
    assert meta.progress == 100
    assert meta.attempts == 1
    assert meta.enqueued_at <= meta.started_at <= meta.completed_at  # type: ignore[operator]
    assert meta.enqueued_at.tzinfo is UTC
    assert meta.duration is not None and meta.duration >= 0
    assert jobmill.get(meta.id) == meta


def test_now_accepts_model_dict_or_keywords(configured: Store) -> None:
    by_model = SendEmailJob.now(SendEmailParams(to="m", subject="s"))
    by_dict = SendEmailJob.now({"to": "d", "subject": "s"})
    by_keywords = SendEmailJob.now(to="k", subject="s")
    assert [r.data.message_id for r in (by_model, by_dict, by_keywords)] == [  # type: ignore[union-attr]
        "msg-m",
        "msg-d",
        "msg-k",
    ]


def test_now_failure_raises_job_failed_with_cause(configured: Store) -> None:
    with pytest.raises(JobFailed) as caught:
        FoundationFailingJob.now(message="disk full")

    assert isinstance(caught.value.__cause__, BoomError)
    meta = caught.value.metadata
    assert meta.status is JobStatus.FAILED
    assert meta.error == "BoomError: disk full"
    assert "BoomError: disk full" in (meta.error_traceback or "")
    assert jobmill.get(meta.id).status is JobStatus.FAILED


def test_async_job_runs_from_sync_and_async_calls(configured: Store) -> None:
    assert AsyncProgressJob.now(items=4).data == {"count": 4}
    result = asyncio.run(AsyncProgressJob.anow(items=2))
    assert result.data == {"count": 2}
    progress = [e.progress for e in jobmill.history(result.metadata.id) if e.kind == "progress"]
    assert progress == [50, 100]


def test_types_other_than_models(configured: Store) -> None:
    assert TypedDictJob.now({"x": 2, "y": 3}).data == 5
    assert DataclassJob.now({"width": 1, "height": 2}).data == Size(2, 1)
    assert PlainJob.now([1, 2, 3]).data == 6


def test_create_job_and_decorator(configured: Store) -> None:
    assert SendEmail.job_name == "SendEmail"
    assert SendEmail.now({"to": "user@example.com", "subject": "Hello"}).data == {"sent": True}
    assert build_report.job_name == "build_report"
    assert build_report.queue == "reports"
    assert build_report.is_async
    assert build_report.now({"month": "May"}).data == "report for May"


def test_later_stores_pending_job_and_runs_nothing(configured: Store) -> None:
    job_id = SendEmailJob.later(to="x@example.com", subject="Later")

    meta = jobmill.get(job_id)
    assert meta.status is JobStatus.PENDING
    assert meta.attempts == 0
    assert meta.max_attempts == 3
    assert meta.params["to"] == "x@example.com"
    assert len(job_id) == 36 and job_id[14] == "7"  # UUIDv7


def test_later_options_are_stored(configured: Store) -> None:
    when = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    job_id = (
        SendEmailJob.set(queue="urgent", priority=7)
        .set(run_at=when, max_attempts=9, timeout=12)
        .later(to="a", subject="b")
    )
    meta = jobmill.get(job_id)
    assert (meta.queue, meta.priority, meta.run_at, meta.max_attempts, meta.timeout) == (
        "urgent",
        7,
        when,
        9,
        12.0,
    )
    delayed = jobmill.get(SendEmailJob.set(delay=timedelta(minutes=5)).later(to="a", subject="b"))
    assert delayed.run_at - delayed.enqueued_at == timedelta(minutes=5)


def test_bad_options_are_rejected_by_name(configured: Store) -> None:
    with pytest.raises(ValueError, match="run_at must be timezone-aware"):
        SendEmailJob.set(run_at=datetime(2030, 1, 1))
    with pytest.raises(ValueError, match="delay must not be negative"):
        SendEmailJob.set(delay=-1)
    with pytest.raises(ValueError, match="max_attempts must be an integer >= 1, got 0"):
        SendEmailJob.set(max_attempts=0)
    with pytest.raises(TypeError, match="depends_on must be a list"):
        SendEmailJob.set(depends_on="abc")  # type: ignore[arg-type]
    assert configured.count_jobs() == 0


def test_invalid_params_name_the_field_and_store_nothing(configured: Store) -> None:
    with pytest.raises(InvalidParams) as caught:
        SendEmailJob.later(to="a@example.com")

    assert "subject: Field required" in str(caught.value)
    assert caught.value.errors[0]["loc"] == ("subject",)
    assert isinstance(caught.value, ValueError)
    with pytest.raises(InvalidParams, match="invalid params for SendEmailJob"):
        SendEmailJob.now(to=5, subject="s")
    assert configured.count_jobs() == 0


def test_later_many_is_all_or_nothing(configured: Store) -> None:
    items = [{"to": f"u{i}", "subject": "s"} for i in range(5)]
    items[3] = {"to": "u3"}

    with pytest.raises(InvalidParams, match=r"\(item 3\): subject: Field required"):
        SendEmailJob.later_many(items)
    assert configured.count_jobs() == 0

    items[3] = {"to": "u3", "subject": "s"}
    ids = SendEmailJob.later_many(items)
    assert len(set(ids)) == 5
    assert [jobmill.get(i).params["to"] for i in ids] == [f"u{i}" for i in range(5)]


def test_async_later_twins(configured: Store) -> None:
    async def enqueue() -> list[str]:
        one = await SendEmailJob.alater(to="a", subject="s")
        many = await SendEmailJob.alater_many([{"to": "b", "subject": "s"}])
        return [one, *many]

    ids = asyncio.run(enqueue())
    assert [jobmill.get(i).status for i in ids] == [JobStatus.PENDING] * 2


def test_unique_key_returns_the_active_job(configured: Store) -> None:
    first = SendEmailJob.set(unique_key="welcome-42").later(to="a", subject="s")
    again = SendEmailJob.set(unique_key="welcome-42").later(to="b", subject="s")
    other = SendEmailJob.set(unique_key="welcome-43").later(to="a", subject="s")

    assert again == first
    assert other != first
    SendEmailJob.execute_from_database(first)
    after_done = SendEmailJob.set(unique_key="welcome-42").later(to="c", subject="s")
    assert after_done != first


def test_result_that_is_not_json_fails_clearly(configured: Store) -> None:
    with pytest.raises(JobFailed) as caught:
        UnserialisableJob.now()
    assert "cannot be stored as JSON" in (caught.value.metadata.error or "")
    assert caught.value.metadata.status is JobStatus.FAILED


def test_progress_is_validated_and_persisted(configured: Store) -> None:
    result = LongRunningJob.now(items=3)

    events = [e for e in jobmill.history(result.metadata.id) if e.kind == "progress"]
    assert [(e.progress, e.message) for e in events] == [
        (10, "Loading data..."),
        (50, "Processing items..."),
        (90, "Saving results..."),
    ]
    assert result.metadata.progress == 100


@pytest.mark.parametrize("bad", [-1, 100.5, float("nan"), True, "50"])
def test_progress_out_of_range_is_a_value_error(configured: Store, bad: object) -> None:
    from jobmill.progress import check_percent

    with pytest.raises(ValueError, match="progress percent must be"):
        check_percent(bad)  # type: ignore[arg-type]


def test_execute_from_database_claims_and_runs(configured: Store) -> None:
    job_id = SendEmailJob.later(to="q@example.com", subject="s")

    result = SendEmailJob.execute_from_database(job_id[:13])

    assert result.ok and result.data == SendEmailResult(message_id="msg-q@example.com")
    assert result.metadata.worker_id and result.metadata.worker_id.startswith("exec:")
    with pytest.raises(JobStateError, match="is completed, not pending"):
        SendEmailJob.execute_from_database(job_id)
    with pytest.raises(jobmill.JobNotFound):
        SendEmailJob.execute_from_database("ffffffff")
    other = FoundationFailingJob.later()
    with pytest.raises(JobStateError, match="is a FoundationFailingJob, not a SendEmailJob"):
        SendEmailJob.execute_from_database(other)


def test_execute_from_database_failure_schedules_retry(configured: Store) -> None:
    job_id = SendEmailJob.set(max_attempts=2).later(to="a", subject="s")
    from foundation_jobs import BoomError as _  # noqa: F401

    result = FoundationFailingJob.set(max_attempts=2).later()
    failed = FoundationFailingJob.execute_from_database(result)
    assert not failed.ok
    assert failed.metadata.status is JobStatus.PENDING  # one attempt left
    # The default backoff after attempt 1: one second, give or take 25 %.
    waits = failed.metadata.run_at - failed.metadata.updated_at
    assert timedelta(seconds=0.75) <= waits <= timedelta(seconds=1.25)
    assert SendEmailJob.execute_from_database(job_id).ok


def test_async_execute_from_database(configured: Store) -> None:
    job_id = AsyncProgressJob.later(items=2)
    result = asyncio.run(AsyncProgressJob.aexecute_from_database(job_id))
    assert result.ok and result.data == {"count": 2}


def test_timeouts_end_the_attempt(configured: Store) -> None:
    with pytest.raises(JobFailed) as async_timeout:
        TimeoutJob.now()
    assert "timed out after 0.2 s" in (async_timeout.value.metadata.error or "")
    with pytest.raises(JobFailed) as sync_timeout:
        SyncTimeoutJob.now()
    assert sync_timeout.value.metadata.error == "JobTimeout"


class InterruptedJob(Job[None, None]):
    def perform(self, params: None) -> None:
        raise KeyboardInterrupt


def test_interrupted_now_ends_cancelled_not_running(configured: Store) -> None:
    with pytest.raises(KeyboardInterrupt):
        InterruptedJob.now()
    [record] = configured.list_jobs()
    assert record.status is JobStatus.CANCELLED
    assert record.error == "KeyboardInterrupt"


def test_empty_params_mean_no_params(configured: Store) -> None:
    assert UnserialisableJob.codec.coerce_params({}) is None
    assert UnserialisableJob.codec.load_params({}) is None
    assert LongRunningJob.codec.coerce_params({}).items == 3
    with pytest.raises(InvalidParams, match="to: Field required"):
        SendEmailJob.codec.coerce_params({})


class DispatchFloatJob(Job[dict[str, float], None]):
    def perform(self, params: dict[str, float]) -> None:
        return None


def test_nan_params_are_invalid_and_nothing_is_stored(configured: Store) -> None:
    with pytest.raises(InvalidParams, match=r"\(item 1\): x: cannot be stored: must be a finite"):
        DispatchFloatJob.later_many([{"x": 1.0}, {"x": float("nan")}])
    assert configured.count_jobs() == 0


class AwaitedProgressJob(Job[None, str]):
    """The seed writes ``await this.updateProgress(...)``; that works here too."""

    async def perform(self, params: None) -> str:
        await self.update_progress(40, "awaited")
        self.update_progress(80, "plain")
        return "done"


def test_progress_can_be_awaited_in_async_jobs(configured: Store) -> None:
    result = AwaitedProgressJob.now()
    events = [(e.progress, e.message) for e in jobmill.history(result.metadata.id)]
    assert (40, "awaited") in events and (80, "plain") in events
