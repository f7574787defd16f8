"""The dashboard's URLs. Pages answer GET; every action is a POST (CSRF-checked
by the middleware) that redirects back."""

from __future__ import annotations

from starlette.routing import Route

from jobmill.dashboard import actions, cron, views

POST = ["POST"]

routes = [
    Route("/", views.overview_page, name="overview"),
    Route("/healthz", views.healthz, name="healthz"),
    Route("/jobs", views.jobs_page, name="jobs"),
    Route("/jobs/{job_id}", views.job_page, name="job"),
    Route("/jobs/{job_id}/live", views.job_live, name="job_live"),
    Route("/jobs/{job_id}/progress", views.job_progress_cell, name="job_progress"),
    Route("/jobs/{job_id}/retry", actions.retry_job, methods=POST, name="retry_job"),
    Route("/jobs/{job_id}/cancel", actions.cancel_job, methods=POST, name="cancel_job"),
    Route("/jobs/{job_id}/discard", actions.discard_job, methods=POST, name="discard_job"),
    Route("/failed", views.failed_page, name="failed"),
    Route("/failed/retry", actions.retry_selected, methods=POST, name="retry_selected"),
    Route("/failed/retry-all", actions.retry_all_failed, methods=POST, name="retry_all"),
    Route("/scheduled", views.scheduled_page, name="scheduled"),
    Route("/cron", cron.cron_page, name="cron"),
    Route("/cron/{entry_id:int}/enable", cron.enable_entry, methods=POST, name="enable_cron"),
    Route("/cron/{entry_id:int}/disable", cron.disable_entry, methods=POST, name="disable_cron"),
    Route("/cron/{entry_id:int}/run", cron.run_entry, methods=POST, name="run_cron"),
    Route("/workers", views.workers_page, name="workers"),
]
