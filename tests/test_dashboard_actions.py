"""Operator actions through HTTP change the database and land in the job's history
with who did them and from where."""

from __future__ import annotations

import base64

import pytest
from starlette.testclient import TestClient

import jobmill
from dashboard_jobs import DashboardEchoJob, DashboardFailJob, client_for, csrf_token
from jobmill.dashboard import create_app
from jobmill.states import TRANSITIONS, JobStatus
from jobmill.store import Store

SOURCE = "dashboard:anonymous@127.0.0.1"


@pytest.fixture
def client(configured: Store) -> TestClient:
    return client_for(create_app())


def failed_job(text: str = "boom", job: type = DashboardFailJob) -> str:
    with pytest.raises(jobmill.JobFailed) as failure:
        job.now(text=text)
    return failure.value.metadata.id


def post(client: TestClient, path: str, **data: object) -> object:
    return client.post(path, data={"csrf_token": csrf_token(client), **data})


def operator_events(job_id: str) -> list[tuple[str, str | None]]:
    return [(e.kind, e.source) for e in jobmill.history(job_id) if e.source]


def test_retry_brings_a_failed_job_back_and_records_who(client: TestClient) -> None:
    job_id = failed_job()
    page = post(client, f"/jobs/{job_id}/retry", next=f"/jobs/{job_id}")
    assert page.status_code == 200
    assert str(page.url).endswith(f"/jobs/{job_id}?retried=1")
    assert "Retried 1 job." in page.text
    record = jobmill.get(job_id)
    assert record.status is JobStatus.PENDING
    assert record.max_attempts == record.attempts + DashboardFailJob.max_attempts
    assert ("retried", SOURCE) in operator_events(job_id)


def test_discard_takes_a_failed_job_off_the_failed_list(client: TestClient) -> None:
    job_id = failed_job("unfixable")
    page = post(client, f"/jobs/{job_id}/discard", next="/failed")
    assert "Discarded 1 failed job" in page.text
    assert job_id not in page.text
    record = jobmill.get(job_id)
    assert record.status is JobStatus.CANCELLED
    assert record.error == "ValueError: cannot handle unfixable"  # kept
    discarded = [e for e in jobmill.history(job_id) if e.kind == "discarded"]
    assert len(discarded) == 1 and discarded[0].source == SOURCE
    assert (JobStatus.FAILED, JobStatus.CANCELLED) in TRANSITIONS
    # A discarded job can still be retried.
    post(client, f"/jobs/{job_id}/retry")
    assert jobmill.get(job_id).status is JobStatus.PENDING


def test_discard_refuses_a_job_that_is_not_failed(client: TestClient) -> None:
    job_id = DashboardEchoJob.now(text="fine").metadata.id
    refused = post(client, f"/jobs/{job_id}/discard")
    assert refused.status_code == 409
    assert "only failed jobs can be discarded" in refused.text
    assert jobmill.get(job_id).status is JobStatus.COMPLETED


def test_cancel_a_pending_job(client: TestClient) -> None:
    job_id = DashboardEchoJob.later(text="never")
    page = post(client, f"/jobs/{job_id}/cancel")
    assert "Cancelled 1 job." in page.text
    assert jobmill.get(job_id).status is JobStatus.CANCELLED
    assert ("cancelled", SOURCE) in operator_events(job_id)


def test_cancel_a_running_job_asks_it_to_stop(client: TestClient, configured: Store) -> None:
    job_id = DashboardEchoJob.set(queue="dash-cancel").later(text="busy")
    configured.claim_jobs("dash-worker", 1, 60, queues=["dash-cancel"])
    page = post(client, f"/jobs/{job_id}/cancel")
    assert "Asked 1 running job to stop" in page.text
    assert "cancel requested" in page.text
    assert jobmill.get(job_id).cancel_requested
    assert ("cancel_requested", SOURCE) in operator_events(job_id)


def test_cancel_of_a_finished_job_is_a_conflict(client: TestClient) -> None:
    job_id = DashboardEchoJob.now(text="done").metadata.id
    refused = post(client, f"/jobs/{job_id}/cancel")
    assert refused.status_code == 409
    assert "only pending or running jobs can be cancelled" in refused.text


def test_retry_selected_retries_only_the_ticked_jobs(client: TestClient) -> None:
    first, second, third = (failed_job(str(i)) for i in range(3))
    page = post(client, "/failed/retry", ids=[first, third], next="/failed")
    assert "Retried 2 jobs." in page.text
    assert jobmill.get(first).status is JobStatus.PENDING
    assert jobmill.get(second).status is JobStatus.FAILED
    assert jobmill.get(third).status is JobStatus.PENDING
    assert ("retried", SOURCE) in operator_events(third)


def test_retry_selected_skips_jobs_no_longer_failed(client: TestClient) -> None:
    failed = failed_job()
    done = DashboardEchoJob.now(text="ok").metadata.id
    page = post(client, "/failed/retry", ids=[failed, done])
    assert "Retried 1 job." in page.text and "Skipped 1 job" in page.text
    assert jobmill.get(done).status is JobStatus.COMPLETED


def test_retry_all_failed_of_one_job_name(client: TestClient) -> None:
    fails = [failed_job(str(i)) for i in range(2)]
    other = DashboardEchoJob.now(text="fine").metadata.id
    page = post(client, "/failed/retry-all", name="DashboardFailJob", next="/failed")
    assert "Retried 2 jobs." in page.text
    assert all(jobmill.get(job_id).status is JobStatus.PENDING for job_id in fails)
    assert jobmill.get(other).status is JobStatus.COMPLETED
    assert "No failed jobs" in page.text


def test_actions_record_the_signed_in_user_and_client(configured: Store) -> None:
    job_id = failed_job()
    client = TestClient(create_app(auth="alice:pw"), client=("203.0.113.9", 4000))
    client.headers["Authorization"] = "Basic " + base64.b64encode(b"alice:pw").decode()
    post(client, f"/jobs/{job_id}/retry")
    assert ("retried", "dashboard:alice@203.0.113.9") in operator_events(job_id)
