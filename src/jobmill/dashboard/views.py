"""The dashboard's pages and the partials htmx swaps in. Each view reads through
``jobmill.commands`` (listings, a job's detail) or the store's statistics and
renders a template; none issues SQL of its own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from jobmill import commands
from jobmill.clock import utcnow
from jobmill.dashboard.chart import WINDOWS, throughput_chart
from jobmill.dashboard.present import PAGE_SIZE, Page, parse_page
from jobmill.dashboard.templating import render
from jobmill.errors import JobNotFound
from jobmill.events import EventKind
from jobmill.humanize import short_ids
from jobmill.records import JobMetadata
from jobmill.runtime import get_settings, get_store
from jobmill.states import JobStatus, statuses_to_show
from jobmill.store import JobFilter
from jobmill.store.stats import is_live

LIVE_STATES = (JobStatus.PENDING, JobStatus.RUNNING)
# htmx stops polling an element whose response has this status.
STOP_POLLING = 286
STATUS_NAMES = ", ".join(status.value for status in JobStatus)


def overview_page(request: Request) -> Response:
    """Counts by status and queue, throughput over a window, workers at a glance."""
    window = WINDOWS.get(request.query_params.get("window", ""), WINDOWS["1h"])
    store, now = get_store(), utcnow()
    counts = store.count_jobs_by_queue_and_status()
    stale_after = get_settings().lock_timeout
    workers = store.list_workers()
    live = sum(is_live(worker.heartbeat_at, stale_after, now) for worker in workers)
    statuses = statuses_to_show(status for _, status in counts)
    context = {
        "queues": sorted({queue for queue, _ in counts}),
        "counts": counts,
        "totals": {status: _total(counts, status) for status in statuses},
        "statuses": statuses,
        "chart": throughput_chart(store.throughput(window.step, window.buckets, now), window),
        "window": window,
        "windows": list(WINDOWS),
        "workers_live": live,
        "workers_stale": len(workers) - live,
    }
    if _wants_partial(request, "overview"):
        return render(request, "partials/overview_stats.html", context)
    return render(request, "overview.html", context)


def healthz(request: Request) -> Response:
    """200 when the database answers, else 503 (for load balancers and probes).

    Open without auth, so it names the error's class only, never its details.
    """
    try:
        get_store().ping()
    except SQLAlchemyError as exc:
        return PlainTextResponse(f"database unreachable ({type(exc).__name__})", 503)
    return PlainTextResponse("ok")


def jobs_page(request: Request) -> Response:
    """Every job, newest first, filtered by status, name, queue or id prefix."""
    filter_, form = _job_filter(request.query_params)
    page_number = parse_page(request.query_params.get("page"))
    rows = commands.list_jobs(filter_, limit=PAGE_SIZE + 1, offset=(page_number - 1) * PAGE_SIZE)
    context = {**_paged(rows, page_number), "form": form, "statuses": list(JobStatus)}
    context["refresh"] = any(job.status is JobStatus.RUNNING for job in context["jobs"])
    if _wants_partial(request, "job-results"):
        return render(request, "partials/job_results.html", context)
    return render(request, "jobs.html", context)


def job_page(request: Request) -> Response:
    """One job: params, result, error, progress and its history, lock, dependencies."""
    key: str = request.path_params["job_id"]
    detail = commands.job_detail(key)
    record = detail.job
    if record.id != key:
        return RedirectResponse(f"{_base(request)}/jobs/{record.id}", status_code=303)
    neighbours = detail.dependencies + detail.dependents
    context = {
        "job": record,
        "events": detail.events,
        "progress_events": [e for e in detail.events if e.kind is EventKind.PROGRESS],
        "dependencies": detail.dependencies,
        "dependents": detail.dependents,
        "short": short_ids([job.id for job in neighbours]),
        "live": record.status in LIVE_STATES,
    }
    return render(request, "job.html", context)


def job_live(request: Request) -> Response:
    """The live part of a job's page: status, progress bar, lock. Polled while
    the job is pending or running; once its status changes the page reloads to
    show the result, error and new events."""
    record = _polled_job(request)
    if record is None:
        return Response(status_code=STOP_POLLING)
    context = {"job": record, "live": record.status in LIVE_STATES}
    response = render(request, "partials/job_live.html", context)
    if request.query_params.get("status", record.status) != record.status:
        response.headers["HX-Refresh"] = "true"
    return response


def job_progress_cell(request: Request) -> Response:
    """A listing's progress cell, polled while the job is running."""
    record = _polled_job(request)
    if record is None:
        return Response(status_code=STOP_POLLING)
    return render(request, "partials/progress_cell.html", {"job": record, "poll": True})


def failed_page(request: Request) -> Response:
    """The dead-letter set: failed jobs, with retry, discard and bulk retry."""
    job_name = request.query_params.get("name", "").strip()
    page_number = parse_page(request.query_params.get("page"))
    rows = commands.list_jobs(
        JobFilter(status=JobStatus.FAILED, job_name=job_name or None),
        limit=PAGE_SIZE + 1,
        offset=(page_number - 1) * PAGE_SIZE,
    )
    context = {**_paged(rows, page_number), "form": {"name": job_name}}
    return render(request, "failed.html", context)


def scheduled_page(request: Request) -> Response:
    """Pending jobs waiting for their ``run_at``, soonest first."""
    page_number = parse_page(request.query_params.get("page"))
    rows = commands.list_scheduled_jobs(
        limit=PAGE_SIZE + 1, offset=(page_number - 1) * PAGE_SIZE, now=utcnow()
    )
    return render(request, "scheduled.html", {**_paged(rows, page_number), "form": {}})


def workers_page(request: Request) -> Response:
    """Workers with their last heartbeat, and the jobs each is running."""
    workers = commands.list_workers()
    running = commands.list_jobs(JobFilter(status=JobStatus.RUNNING), limit=500)
    by_worker: dict[str, list[JobMetadata]] = {}
    for record in running:
        by_worker.setdefault(record.worker_id or "", []).append(record)
    now, stale_after = utcnow(), get_settings().lock_timeout
    context = {
        "workers": [(worker, is_live(worker.heartbeat_at, stale_after, now)) for worker in workers],
        "running": by_worker,
        "short": short_ids([record.id for record in running]),
    }
    return render(request, "workers.html", context)


def _job_filter(query: Mapping[str, str]) -> tuple[JobFilter, dict[str, str]]:
    """The Jobs page's filter from its query string; a bad status is a 400."""
    form = {key: query.get(key, "").strip() for key in ("status", "name", "queue", "q")}
    status = None
    if form["status"]:
        try:
            status = JobStatus(form["status"])
        except ValueError:
            raise HTTPException(
                400, f"status: {form['status']!r} is not a job status; expected {STATUS_NAMES}"
            ) from None
    filter_ = JobFilter(
        status=status,
        job_name=form["name"] or None,
        queue=form["queue"] or None,
        id_prefix=form["q"] or None,
    )
    return filter_, form


def _polled_job(request: Request) -> JobMetadata | None:
    """The job a polling partial shows, or None once it is gone (pruned)."""
    try:
        return commands.get(request.path_params["job_id"])
    except JobNotFound:
        return None


def _total(counts: Mapping[tuple[str, JobStatus | str], int], status: JobStatus | str) -> int:
    return sum(count for (_, each), count in counts.items() if each == status)


def _paged(rows: list[JobMetadata], number: int) -> dict[str, Any]:
    shown = rows[:PAGE_SIZE]
    return {
        "jobs": shown,
        "page": Page(number, has_next=len(rows) > PAGE_SIZE),
        "short": short_ids([record.id for record in shown]),
    }


def _wants_partial(request: Request, target: str) -> bool:
    """True for an htmx request that swaps only ``target`` (not a history restore)."""
    headers = request.headers
    return (
        headers.get("hx-request") == "true"
        and headers.get("hx-target") == target
        and "hx-history-restore-request" not in headers
    )


def _base(request: Request) -> str:
    root: str = request.scope.get("root_path", "")
    return root.rstrip("/")
