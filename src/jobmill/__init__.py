"""jobmill: typed Python jobs you run now, queue for later, or run as a batch.

from jobmill import Job

class SendEmailJob(Job[SendEmailParams, SendEmailResult]):
    def perform(self, params: SendEmailParams) -> SendEmailResult: ...

SendEmailJob.now(to="a@example.com", subject="Hi")
job_id = SendEmailJob.later(to="a@example.com", subject="Hi")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobmill.lazy import export_lazily

if TYPE_CHECKING:
    from jobmill import cron
    from jobmill.commands import cancel, discard, get, history, prune, retry, retry_failed
    from jobmill.cron import CronJob, CronJobNotFound, MisfirePolicy
    from jobmill.dispatch import Dispatch, JobStep, chain
    from jobmill.errors import (
        AmbiguousJobId,
        ConfigurationError,
        CronError,
        DuplicateJobName,
        InvalidParams,
        JobCancelled,
        JobFailed,
        JobmillError,
        JobNotFound,
        JobStateError,
        JobTimeout,
        UnknownJob,
    )
    from jobmill.events import EventKind
    from jobmill.job import Job, create_job, job
    from jobmill.records import JobEvent, JobMetadata, JobResult
    from jobmill.runtime import configure
    from jobmill.settings import Settings
    from jobmill.states import JobStatus
    from jobmill.worker import Worker

__version__ = "0.1.0"

# Each public name and the module that defines it, imported on first use
# (jobmill.lazy): a program, or `jobmill --help`, pays for SQLAlchemy, the worker
# and cron only when it touches them.
_EXPORTS = {
    "cancel": "jobmill.commands",
    "discard": "jobmill.commands",
    "get": "jobmill.commands",
    "history": "jobmill.commands",
    "prune": "jobmill.commands",
    "retry": "jobmill.commands",
    "retry_failed": "jobmill.commands",
    "CronJob": "jobmill.cron",
    "CronJobNotFound": "jobmill.cron",
    "MisfirePolicy": "jobmill.cron",
    "cron": "jobmill.cron",
    "Dispatch": "jobmill.dispatch",
    "JobStep": "jobmill.dispatch",
    "chain": "jobmill.dispatch",
    "AmbiguousJobId": "jobmill.errors",
    "ConfigurationError": "jobmill.errors",
    "CronError": "jobmill.errors",
    "DuplicateJobName": "jobmill.errors",
    "InvalidParams": "jobmill.errors",
    "JobCancelled": "jobmill.errors",
    "JobFailed": "jobmill.errors",
    "JobNotFound": "jobmill.errors",
    "JobStateError": "jobmill.errors",
    "JobTimeout": "jobmill.errors",
    "JobmillError": "jobmill.errors",
    "UnknownJob": "jobmill.errors",
    "EventKind": "jobmill.events",
    "Job": "jobmill.job",
    "create_job": "jobmill.job",
    "job": "jobmill.job",
    "JobEvent": "jobmill.records",
    "JobMetadata": "jobmill.records",
    "JobResult": "jobmill.records",
    "configure": "jobmill.runtime",
    "Settings": "jobmill.settings",
    "JobStatus": "jobmill.states",
    "Worker": "jobmill.worker",
}


export_lazily(__name__, _EXPORTS, submodules={"cron"})

__all__ = [
    "AmbiguousJobId",
    "ConfigurationError",
    "CronError",
    "CronJob",
    "CronJobNotFound",
    "Dispatch",
    "DuplicateJobName",
    "EventKind",
    "InvalidParams",
    "Job",
    "JobCancelled",
    "JobEvent",
    "JobFailed",
    "JobMetadata",
    "JobNotFound",
    "JobResult",
    "JobStateError",
    "JobStatus",
    "JobStep",
    "JobTimeout",
    "JobmillError",
    "MisfirePolicy",
    "Settings",
    "UnknownJob",
    "Worker",
    "cancel",
    "chain",
    "configure",
    "create_job",
    "cron",
    "discard",
    "get",
    "history",
    "job",
    "prune",
    "retry",
    "retry_failed",
]
