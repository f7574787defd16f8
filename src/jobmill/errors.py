"""Exceptions raised by jobmill's public API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobmill.records import JobMetadata


class JobmillError(Exception):
    """Base class of every error jobmill raises on purpose."""


class ConfigurationError(JobmillError, ValueError):
    """A setting has an invalid value; the message names the setting."""


class InvalidParams(JobmillError, ValueError):
    """Params failed validation; nothing was stored.

    ``errors`` holds pydantic's error details (``loc``, ``msg``, ``type``, ``input``).
    """

    def __init__(self, job_name: str, errors: Sequence[Any], index: int | None = None):
        self.job_name = job_name
        self.errors = list(errors)
        self.index = index
        where = f" (item {index})" if index is not None else ""
        details = "; ".join(_describe_error(e) for e in self.errors)
        super().__init__(f"invalid params for {job_name}{where}: {details}")


def _describe_error(error: Any) -> str:
    field = ".".join(str(part) for part in error.get("loc", ())) or "params"
    given = error.get("input")
    shown = "" if given is None else f" (got {given!r:.80})"
    return f"{field}: {error.get('msg', 'invalid')}{shown}"


class DuplicateJobName(JobmillError, ValueError):
    """Two different job classes were defined with one name."""


class UnknownJob(JobmillError, LookupError):
    """A job name (from the database or the command line) is not registered."""

    def __init__(self, job_name: str, known: Sequence[str] = ()):
        self.job_name = job_name
        hint = f"; registered jobs: {', '.join(sorted(known))}" if known else "; no jobs registered"
        super().__init__(
            f"unknown job {job_name!r}{hint} (is the module that defines it in `imports`?)"
        )


class JobNotFound(JobmillError, LookupError):
    """No job has that id or id prefix."""

    def __init__(self, id_or_prefix: str):
        self.id_or_prefix = id_or_prefix
        super().__init__(f"no job with id or prefix {id_or_prefix!r}")


class AmbiguousJobId(JobmillError, LookupError):
    """An id prefix matches several jobs; ``candidates`` lists their ids."""

    def __init__(self, prefix: str, candidates: Sequence[str]):
        self.prefix = prefix
        self.candidates = list(candidates)
        super().__init__(
            f"id prefix {prefix!r} matches {len(self.candidates)} jobs: "
            + ", ".join(self.candidates)
        )


class JobStateError(JobmillError, RuntimeError):
    """The job is not in a state that allows the requested action."""


class CronError(JobmillError, ValueError):
    """A cron entry is invalid: bad expression, timezone, job or params."""


class JobFailed(JobmillError):
    """Raised by ``now()`` when the job fails; the cause is the original exception."""

    def __init__(self, metadata: JobMetadata):
        self.metadata = metadata
        super().__init__(f"{metadata.job_name} {metadata.id} failed: {metadata.error}")


class JobTimeout(JobmillError, TimeoutError):
    """A job attempt ran longer than its ``timeout``."""


class JobCancelled(JobmillError):
    """Raised inside a job whose cancellation was requested (see ``raise_if_cancelled``)."""
