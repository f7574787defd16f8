"""jobmill: typed Python jobs you run now, queue for later, or run as a batch.

from jobmill import Job

class SendEmailJob(Job[SendEmailParams, SendEmailResult]):
    def perform(self, params: SendEmailParams) -> SendEmailResult: ...

SendEmailJob.now(to="a@example.com", subject="Hi")
job_id = SendEmailJob.later(to="a@example.com", subject="Hi")
"""

from __future__ import annotations

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
