"""The Cron page and its actions: enable, disable, run now. A thin view over
``jobmill.cron``'s operator commands, which log who acted; a run lands in the
enqueued job's history with its source."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from jobmill import cron
from jobmill.clock import utcnow
from jobmill.dashboard.actions import back, request_source
from jobmill.dashboard.templating import render
from jobmill.errors import CronError
from jobmill.runtime import get_store

NEXT_RUNS = 5


@dataclass(frozen=True)
class CronRow:
    """An entry with what the page shows beside it."""

    entry: cron.CronJob
    next_runs: list[datetime]
    schedule_error: str | None
    last_job_status: str | None


def cron_page(request: Request) -> Response:
    """Every cron entry: schedule, next runs, last run and its job, errors."""
    now = utcnow()
    rows = [_row(entry, now) for entry in cron.list_cron_jobs()]
    last_jobs = [row.entry.last_job_id for row in rows if row.entry.last_job_id]
    statuses = {job.id: job.status for job in get_store().jobs_by_ids(last_jobs)}
    rows = [
        CronRow(
            row.entry, row.next_runs, row.schedule_error, statuses.get(row.entry.last_job_id or "")
        )
        for row in rows
    ]
    return render(request, "cron.html", {"rows": rows})


async def enable_entry(request: Request) -> Response:
    """Enable an entry from its next tick on (it is checked first)."""
    entry_id: int = request.path_params["entry_id"]
    form = await request.form()
    await run_in_threadpool(cron.enable_cron_job, entry_id, source=request_source(request))
    return back(request, form, "/cron", cron_enabled=1)


async def disable_entry(request: Request) -> Response:
    """Disable an entry: it fires no more until enabled."""
    entry_id: int = request.path_params["entry_id"]
    form = await request.form()
    await run_in_threadpool(cron.disable_cron_job, entry_id, source=request_source(request))
    return back(request, form, "/cron", cron_disabled=1)


async def run_entry(request: Request) -> Response:
    """Enqueue one job for an entry now, outside its schedule; shows that job."""
    entry_id: int = request.path_params["entry_id"]
    job_id = await run_in_threadpool(cron.run_cron_job, entry_id, source=request_source(request))
    base = request.scope.get("root_path", "").rstrip("/")
    return RedirectResponse(f"{base}/jobs/{job_id}?cron_run=1", status_code=303)


def _row(entry: cron.CronJob, now: datetime) -> CronRow:
    try:
        upcoming = cron.next_runs(entry.cron_expression, entry.timezone, NEXT_RUNS, now=now)
    except CronError as exc:
        return CronRow(entry, [], str(exc), None)
    return CronRow(entry, upcoming, None, None)
