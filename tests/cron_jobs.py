"""Job classes and code-declared schedules for the cron tests (``--import cron_jobs``)."""

from __future__ import annotations

from pydantic import BaseModel

import jobmill.cron
from jobmill import Job


class CronReportParams(BaseModel):
    count: int = 1
    label: str = "report"


class CronReportJob(Job[CronReportParams, int]):
    def perform(self, params: CronReportParams) -> int:
        return params.count


class CronStrictParams(BaseModel):
    count: int


class CronStrictJob(Job[CronStrictParams, int]):
    queue = "cron-strict"

    def perform(self, params: CronStrictParams) -> int:
        return params.count


class CronHourlyJob(Job[CronReportParams, int]):
    cron = "0 * * * *"
    cron_params = {"label": "hourly"}  # noqa: RUF012
    cron_timezone = "Europe/Berlin"

    def perform(self, params: CronReportParams) -> int:
        return params.count


NIGHTLY = jobmill.cron.schedule(
    "cron-tests-nightly",
    CronReportJob,
    "30 2 * * *",
    params={"count": 3},
    timezone="America/New_York",
    misfire="skip",
)
