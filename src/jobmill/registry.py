"""The registry of job classes, by name.

A worker resolves stored job names through this registry only: a string read
from the database never decides which module gets imported.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from jobmill.errors import DuplicateJobName, UnknownJob

if TYPE_CHECKING:
    from jobmill.job import Job

_jobs: dict[str, type[Job[Any, Any]]] = {}


def register(job_class: type[Job[Any, Any]]) -> None:
    """Add a job class; a different class under the same name is an error."""
    name = job_class.job_name
    existing = _jobs.get(name)
    if existing is not None and _qualified(existing) != _qualified(job_class):
        raise DuplicateJobName(
            f"job name {name!r} is already used by {_qualified(existing)}; "
            f"{_qualified(job_class)} must set a different `name`"
        )
    _jobs[name] = job_class


def _qualified(job_class: type) -> str:
    return f"{job_class.__module__}.{job_class.__qualname__}"


def lookup(name: str) -> type[Job[Any, Any]]:
    """The job class registered under ``name``."""
    try:
        return _jobs[name]
    except KeyError:
        raise UnknownJob(name, list(_jobs)) from None


def lookup_cli_name(cli_name: str) -> type[Job[Any, Any]] | None:
    for job_class in _jobs.values():
        if job_class.cli_name == cli_name:
            return job_class
    return None


def registered() -> dict[str, type[Job[Any, Any]]]:
    """A copy of the registry: job name -> class."""
    return dict(_jobs)


def unregister(name: str) -> None:
    """Remove a job class (for tests that define throwaway jobs)."""
    _jobs.pop(name, None)


def import_job_modules(modules: Iterable[str], origin: str = "`imports`") -> None:
    """Import the modules that define jobs (the ``imports`` setting).

    The working directory is importable, as with ``python -m``, so the CLI,
    a worker and the dashboard all find ``./myapp`` for ``myapp.jobs``. A
    module that fails to import raises ``ImportError`` saying, in one line,
    which module, where it was named (``origin``) and why.
    """
    modules = list(modules)
    if modules and os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as exc:
            raise ImportError(
                f"could not import job module {module!r} (from {origin}): {_why(exc)}"
            ) from exc


def _why(exc: Exception) -> str:
    if isinstance(exc, ModuleNotFoundError):
        return str(exc)
    if isinstance(exc, SyntaxError):
        return f"SyntaxError: {exc.msg} ({exc.filename}, line {exc.lineno})"
    return f"{type(exc).__name__}: {exc}"
