"""Operator actions (POST): retry, cancel, discard, bulk retry. Each goes through
``jobmill.commands`` (as the CLI does), is recorded in the job's history with
who did it and from where, and answers with a redirect back (post/redirect/get).

The CSRF middleware has already checked every request that reaches here.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from jobmill import commands
from jobmill.records import JobMetadata
from jobmill.states import JobStatus

BULK_LIMIT = 10_000


def request_source(request: Request) -> str:
    """``dashboard:alice@10.0.0.7``: the signed-in user (or ``anonymous``) and
    the client's address, for the job's history."""
    user = request.scope.get("state", {}).get("user") or "anonymous"
    client = request.client.host if request.client else "local"
    return f"dashboard:{user}@{client}"


async def retry_job(request: Request) -> Response:
    """A failed or cancelled job back to pending."""
    return await _job_action(request, lambda job_id, source: commands.retry(job_id, source=source))


async def cancel_job(request: Request) -> Response:
    """Cancel a pending job, or ask a running one to stop."""
    return await _job_action(request, lambda job_id, source: commands.cancel(job_id, source=source))


async def discard_job(request: Request) -> Response:
    """Take a failed job out of the Failed list (it ends cancelled, history kept)."""
    return await _job_action(
        request, lambda job_id, source: commands.discard(job_id, source=source), "discarded"
    )


async def retry_selected(request: Request) -> Response:
    """Retry the failed jobs ticked on the Failed page."""
    form = await request.form()
    ids = [str(value) for value in form.getlist("ids")][:BULK_LIMIT]
    done = await run_in_threadpool(commands.retry_each, ids, source=request_source(request))
    return back(request, form, "/failed", retried=len(done.retried), skipped=len(done.refused))


async def retry_all_failed(request: Request) -> Response:
    """Retry every failed job (of one job name, when the form names one)."""
    form = await request.form()
    job_name = str(form.get("name", "")).strip() or None
    source = request_source(request)
    done = await run_in_threadpool(
        lambda: commands.retry_failed(job_name, source=source, limit=BULK_LIMIT)
    )
    return back(request, form, "/failed", retried=len(done.retried), skipped=len(done.refused))


async def _job_action(
    request: Request, action: Callable[[str, str], JobMetadata], done: str | None = None
) -> Response:
    job_id: str = request.path_params["job_id"]
    form = await request.form()
    record = await run_in_threadpool(action, job_id, request_source(request))
    return back(request, form, f"/jobs/{record.id}", **{done or _outcome(record): 1})


def _outcome(record: JobMetadata) -> str:
    """The notice for a retry or cancel, from the state the job is now in."""
    if record.status is JobStatus.PENDING:
        return "retried"
    return "cancel_requested" if record.status is JobStatus.RUNNING else "cancelled"


def back(request: Request, form: FormData, default: str, **counts: int) -> Response:
    """A 303 to the form's ``next`` page (a local path only), reporting what was done."""
    base = request.scope.get("root_path", "").rstrip("/")
    target = str(form.get("next", ""))
    if not _is_local_path(target):
        target = default
    notice = urlencode({key: value for key, value in counts.items() if value})
    separator = "&" if "?" in target else "?"
    return RedirectResponse(
        f"{base}{target}{separator + notice if notice else ''}", status_code=303
    )


def _is_local_path(target: str) -> bool:
    # "//host" and "/\\host" are other sites to a browser.
    return target.startswith("/") and not target.startswith(("//", "/\\"))
