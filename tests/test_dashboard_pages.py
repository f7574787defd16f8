"""Every dashboard page renders real data from SQLite and PostgreSQL, escaped."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

import jobmill
from dashboard_jobs import DashboardEchoJob, DashboardFailJob, client_for
from jobmill import runtime
from jobmill.clock import utcnow
from jobmill.dashboard import create_app
from jobmill.outcomes import Lock, ProgressUpdate
from jobmill.store import NewJobs, Store
from jobmill.store.stats import ThroughputBucket

HOSTILE = '<script>alert("x")</script>'


@pytest.fixture
def client(configured: Store) -> TestClient:
    return client_for(create_app())


def failed_job_id(text: str = "boom") -> str:
    with pytest.raises(jobmill.JobFailed) as failure:
        DashboardFailJob.now(text=text)
    return failure.value.metadata.id


def running_job(store: Store, percent: float, message: str) -> str:
    """A job claimed by a worker, with one progress update written."""
    job_id = DashboardEchoJob.set(queue="dash-running").later(text="running")
    (claimed,) = store.claim_jobs("dash-worker", 1, 60, queues=["dash-running"])
    assert claimed.id == job_id
    store.record_progress(Lock.of(claimed), [ProgressUpdate(percent, message, utcnow())])
    return job_id


def test_healthz_answers_ok(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.text == "ok"


def test_healthz_says_when_the_database_does_not_answer(tmp_path: Path) -> None:
    jobmill.configure(database_url=f"sqlite:///{tmp_path / 'missing' / 'jobs.db'}")
    try:
        response = client_for(create_app()).get("/healthz")
    finally:
        runtime.reset()
    assert response.status_code == 503
    assert response.text == "database unreachable (OperationalError)"


def test_jobs_page_lists_jobs_with_status_and_progress(client: TestClient) -> None:
    done = DashboardEchoJob.now(text="done").metadata.id
    pending = DashboardEchoJob.later(text="waiting")
    failed = failed_job_id()
    page = client.get("/jobs")
    assert page.status_code == 200
    for job_id in (done, pending, failed):
        assert f'href="/jobs/{job_id}"' in page.text
    assert 'class="status status-failed"' in page.text
    assert 'aria-valuenow="100"' in page.text  # the completed job


def test_jobs_page_filters_by_status_name_queue_and_id_prefix(client: TestClient) -> None:
    mail = DashboardEchoJob.set(queue="dash-mail").later(text="a")
    other = DashboardEchoJob.later(text="b")
    failed = failed_job_id()

    by_status = client.get("/jobs", params={"status": "failed"}).text
    assert failed in by_status and mail not in by_status

    by_queue = client.get("/jobs", params={"queue": "dash-mail"}).text
    assert mail in by_queue and other not in by_queue

    by_name = client.get("/jobs", params={"name": "DashboardFailJob"}).text
    assert failed in by_name and other not in by_name

    by_prefix = client.get("/jobs", params={"q": other[:-4].upper()}).text
    assert other in by_prefix and mail not in by_prefix


def test_jobs_page_rejects_an_unknown_status_clearly(client: TestClient) -> None:
    response = client.get("/jobs", params={"status": "exploded"})
    assert response.status_code == 400
    assert "&#39;exploded&#39; is not a job status; expected pending, running" in response.text


def test_jobs_page_pages_through_jobs_newest_first(client: TestClient) -> None:
    ids = DashboardEchoJob.set(queue="dash-paging").later_many(
        [{"text": str(i)} for i in range(53)]
    )
    first = client.get("/jobs", params={"queue": "dash-paging"}).text
    second = client.get("/jobs", params={"queue": "dash-paging", "page": 2}).text
    assert ids[-1] in first and ids[3] in first and ids[2] not in first
    assert [job_id for job_id in ids[:3] if job_id in second] == ids[:3]
    assert ids[3] not in second
    assert 'rel="next" href="?queue=dash-paging&amp;page=2"' in first
    assert 'rel="next"' not in second and 'rel="prev"' in second


def test_jobs_filter_answers_htmx_with_the_results_partial(client: TestClient) -> None:
    job_id = DashboardEchoJob.later(text="partial")
    headers = {"HX-Request": "true", "HX-Target": "job-results"}
    partial = client.get("/jobs", params={"q": job_id[:13]}, headers=headers).text
    assert job_id in partial
    assert "<html" not in partial and "<table" in partial


def test_job_page_shows_params_result_progress_and_events(client: TestClient) -> None:
    record = DashboardEchoJob.now(text="hello", count=2).metadata
    page = client.get(f"/jobs/{record.id}").text
    assert "&#34;hello&#34;" in page  # params, as escaped JSON
    assert "&#34;hellohello&#34;" in page  # result
    assert "echoing hello" in page  # progress history
    assert 'aria-valuenow="100"' in page
    for kind in ("enqueued", "started", "completed"):
        assert f'class="event-{kind}"' in page


def test_job_page_shows_error_and_traceback(client: TestClient) -> None:
    job_id = failed_job_id("bad input")
    page = client.get(f"/jobs/{job_id}").text
    assert "ValueError: cannot handle bad input" in page
    assert "Traceback (most recent call last)" in page
    assert 'formaction="/jobs/' + job_id + '/retry"' in page
    assert 'formaction="/jobs/' + job_id + '/discard"' in page


def test_job_page_shows_lock_and_live_progress_of_a_running_job(
    client: TestClient, configured: Store
) -> None:
    job_id = running_job(configured, 40, "halfway there")
    page = client.get(f"/jobs/{job_id}").text
    assert "dash-worker" in page
    assert 'aria-valuenow="40"' in page and "halfway there" in page
    assert f'hx-get="/jobs/{job_id}/live?status=running"' in page
    assert 'hx-trigger="every 1s"' in page

    (record,) = configured.jobs_by_ids([job_id])
    configured.record_progress(Lock.of(record), [ProgressUpdate(85, "nearly", utcnow())])
    live = client.get(f"/jobs/{job_id}/live", params={"status": "running"})
    assert 'aria-valuenow="85"' in live.text and "nearly" in live.text
    assert "<html" not in live.text and "HX-Refresh" not in live.headers


def test_live_partial_asks_for_a_reload_when_the_status_changed(client: TestClient) -> None:
    record = DashboardEchoJob.now(text="finished").metadata
    live = client.get(f"/jobs/{record.id}/live", params={"status": "running"})
    assert live.headers["HX-Refresh"] == "true"
    assert "hx-trigger" not in live.text  # a finished job is not polled


def test_polling_stops_when_the_job_is_gone(client: TestClient) -> None:
    for partial in ("live", "progress"):
        response = client.get(f"/jobs/01900000-0000-7000-8000-00000000dead/{partial}")
        assert response.status_code == 286  # htmx's "stop polling"
        assert response.text == ""


def test_jobs_list_refreshes_itself_only_while_it_shows_a_running_job(
    client: TestClient, configured: Store
) -> None:
    waiting = DashboardEchoJob.later(text="waiting")
    assert "hx-trigger" not in client.get("/jobs").text.split('id="job-results"', 1)[1][:20]
    running_job(configured, 10, "begun")
    page = client.get("/jobs", params={"queue": "dash-running"}).text
    assert (
        '<div id="job-results" hx-get="/jobs?queue=dash-running&amp;page=1" '
        'hx-trigger="every 2s"' in page
    )
    assert waiting not in page


def test_progress_cell_polls_only_while_running(client: TestClient, configured: Store) -> None:
    running = running_job(configured, 10, "begun")
    cell = client.get(f"/jobs/{running}/progress").text
    assert cell.lstrip().startswith("<td") and 'hx-trigger="every 2s"' in cell
    done = DashboardEchoJob.now(text="x").metadata.id
    assert "hx-trigger" not in client.get(f"/jobs/{done}/progress").text


def test_job_page_shows_dependencies_both_ways(client: TestClient) -> None:
    first, second = jobmill.chain(
        DashboardEchoJob.step(text="first"), DashboardEchoJob.step(text="second")
    )
    first_page = client.get(f"/jobs/{first}").text
    second_page = client.get(f"/jobs/{second}").text
    needed_by = first_page.split("Needed by", 1)[1]
    assert f'href="/jobs/{second}"' in needed_by
    waits_for = second_page.split("Waits for", 1)[1].split("Needed by", 1)[0]
    assert f'href="/jobs/{first}"' in waits_for


def test_job_page_by_prefix_redirects_to_the_full_id(client: TestClient) -> None:
    job_id = DashboardEchoJob.later(text="prefix")
    response = client.get(f"/jobs/{job_id[:20]}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/jobs/{job_id}"


def test_unknown_and_ambiguous_job_ids_are_clear_errors(client: TestClient) -> None:
    missing = client.get("/jobs/ffffffff-0000")
    assert missing.status_code == 404
    assert "no job with id or prefix" in missing.text
    DashboardEchoJob.later_many([{"text": "a"}, {"text": "b"}])
    ambiguous = client.get("/jobs/0")
    assert ambiguous.status_code == 400
    assert "matches" in ambiguous.text and ambiguous.text.count('class="id" href="/jobs/') >= 2


def test_failed_page_lists_failed_jobs_with_actions(client: TestClient) -> None:
    failed = failed_job_id("dead letter")
    DashboardEchoJob.now(text="fine")
    page = client.get("/failed").text
    assert failed in page and "cannot handle dead letter" in page
    assert f'name="ids" value="{failed}"' in page
    assert "Retry all failed" in page and "Retry selected" in page
    assert page.count('name="ids"') == 1


def test_scheduled_page_lists_future_jobs_soonest_first(client: TestClient) -> None:
    later = DashboardEchoJob.set(delay=timedelta(hours=2)).later(text="later")
    sooner = DashboardEchoJob.set(delay=timedelta(minutes=5)).later(text="sooner")
    due_now = DashboardEchoJob.later(text="now")
    page = client.get("/scheduled").text
    assert page.index(sooner) < page.index(later)
    assert due_now not in page
    assert "in 4m" in page or "in 5m" in page


def test_scheduled_pages_read_soonest_first(client: TestClient) -> None:
    DashboardEchoJob.set(delay=timedelta(hours=1)).later_many([{"text": "s"}] * 51)
    page = client.get("/scheduled").text
    assert re.search(r'rel="next" href="\?page=2">Later →</a>', page)
    assert "Older" not in page and "Newer" not in page
    second = client.get("/scheduled?page=2").text
    assert re.search(r'rel="prev" href="\?page=1">← Sooner</a>', second)


def test_jobs_page_says_why_it_is_empty(client: TestClient) -> None:
    assert "No jobs yet." in client.get("/jobs").text
    assert "No jobs match these filters." in client.get("/jobs?queue=dash-none").text
    DashboardEchoJob.later(text="one")
    assert "No jobs on this page." in client.get("/jobs?page=2").text


def test_workers_page_shows_heartbeats_and_running_jobs(
    client: TestClient, configured: Store
) -> None:
    now = utcnow()
    configured.register_worker("dash-worker", "dash-host", 4242, ["dash-running"], 4, now=now)
    configured.register_worker("dash-old", "old-host", 7, None, 1, now=now - timedelta(hours=2))
    job_id = running_job(configured, 30, "working")
    page = client.get("/workers").text
    assert "dash-host" in page and "4242" in page and "dash-running" in page
    assert re.search(r"dash-old.*?stale", page, re.S)
    assert re.search(r"dash-host.*?live", page, re.S)
    running = page.split("Running jobs", 1)[1]
    assert f'href="/jobs/{job_id}"' in running and 'aria-valuenow="30"' in running


def test_values_from_the_database_are_escaped_everywhere(
    client: TestClient, configured: Store
) -> None:
    hostile_id = DashboardEchoJob.later(text=HOSTILE)
    failed = failed_job_id(HOSTILE)
    weird = NewJobs(
        job_name=HOSTILE,
        queue=HOSTILE,
        priority=0,
        max_attempts=1,
        timeout=None,
        ids=["01900000-0000-7000-8000-000000000001"],
        params=[json.dumps({HOSTILE: HOSTILE})],
    )
    configured.enqueue([weird])
    pages = [
        "/",
        f"/jobs/{hostile_id}",
        f"/jobs/{failed}",
        f"/jobs/{weird.id}",
        "/jobs",
        "/failed",
        "/scheduled",
        "/workers",
    ]
    for path in pages:
        body = client.get(path).text
        assert "<script>alert" not in body, path
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"
    assert escaped in client.get("/jobs").text
    assert escaped in client.get("/").text  # the Overview's queue names


def test_overview_shows_counts_by_status_and_queue_and_throughput(
    client: TestClient, configured: Store
) -> None:
    for _ in range(3):
        DashboardEchoJob.set(queue="dash-overview").now(text="x")
    failed_job_id()
    DashboardEchoJob.set(queue="dash-overview").later(text="waiting")
    configured.register_worker("dash-worker", "dash-host", 1, None, 1)
    page = client.get("/").text
    assert "<h1>Overview</h1>" in page
    assert 'href="/jobs?queue=dash-overview&amp;status=completed">3</a>' in page
    assert 'href="/jobs?queue=dash-overview&amp;status=pending">1</a>' in page
    assert "completed 3" in page and "failed 1" in page  # the chart's legend, last hour
    assert page.count('<rect class="completed"') == 1  # all in the current minute
    assert '<rect class="failed"' in page
    assert re.search(r'<div class="value">1</div>\s*<div class="label">workers live', page)
    week = client.get("/", params={"window": "7d"}).text
    assert "<strong>last 7d</strong>" in week


def test_overview_refresh_answers_htmx_with_the_stats_partial(client: TestClient) -> None:
    headers = {"HX-Request": "true", "HX-Target": "overview"}
    partial = client.get("/", headers=headers).text
    assert "<html" not in partial and "<svg" in partial


def test_throughput_counts_completed_and_failed_per_interval(configured: Store) -> None:
    done = DashboardEchoJob.now(text="a").metadata
    failed = jobmill.get(failed_job_id())
    assert done.completed_at is not None and failed.completed_at is not None
    now = max(done.completed_at, failed.completed_at) + timedelta(seconds=30)
    buckets = configured.throughput(timedelta(minutes=1), 3, now=now)
    assert [b.start for b in buckets] == [now - timedelta(minutes=m) for m in (3, 2, 1)]
    assert [(b.completed, b.failed) for b in buckets] == [(0, 0), (0, 0), (1, 1)]
    earlier = configured.throughput(timedelta(minutes=1), 3, now=now + timedelta(minutes=2))
    assert [(b.completed, b.failed) for b in earlier] == [(1, 1), (0, 0), (0, 0)]
    assert configured.throughput(timedelta(minutes=1), 3, now=now + timedelta(hours=1)) == [
        ThroughputBucket(now + timedelta(hours=1) - timedelta(minutes=m)) for m in (3, 2, 1)
    ]
