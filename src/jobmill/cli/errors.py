"""How the command line reports failures: a message on stderr and an exit code.

Exit codes: 0 ok, 1 failure or not found, 2 usage (bad arguments, params,
job names or configuration). Every command runs inside ``reported_errors``,
so library errors become a clear message instead of a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import typer

from jobmill.cli.params import ParamError
from jobmill.errors import (
    AmbiguousJobId,
    ConfigurationError,
    CronError,
    DuplicateJobName,
    InvalidParams,
    JobmillError,
    UnknownJob,
)

OK = 0
FAILURE = 1
USAGE = 2

# Errors that mean "the command was asked the wrong thing", not "it failed".
USAGE_ERRORS: tuple[type[Exception], ...] = (
    AmbiguousJobId,
    ConfigurationError,
    CronError,
    DuplicateJobName,
    InvalidParams,
    ParamError,
    UnknownJob,
)


class CommandError(Exception):
    """A failure to report to the operator; ``code`` is the exit code."""

    def __init__(self, message: str, code: int = FAILURE, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = list(details)


def describe(exc: Exception) -> CommandError:
    """The message, details and exit code an exception is reported with."""
    if isinstance(exc, CommandError):
        return exc
    code = USAGE if isinstance(exc, USAGE_ERRORS) else FAILURE
    if isinstance(exc, AmbiguousJobId):
        return CommandError(
            f"id prefix {exc.prefix!r} matches several jobs; give more characters:",
            code,
            exc.candidates,
        )
    if isinstance(exc, InvalidParams):
        where = f" (item {exc.index})" if exc.index is not None else ""
        return CommandError(
            f"invalid params for {exc.job_name}{where}; nothing was enqueued:",
            code,
            [_describe_param_error(error) for error in exc.errors],
        )
    return CommandError(str(exc), code)


def _describe_param_error(error: object) -> str:
    details = error if isinstance(error, dict) else {}
    field = ".".join(str(part) for part in details.get("loc", ())) or "params"
    message = details.get("msg", "invalid")
    if details.get("type") == "missing":
        return f"{field}: required (add --param {field}=...)"
    given = details.get("input")
    shown = "" if given is None else f" (got {given!r:.80})"
    return f"{field}: {message}{shown}"


def report(error: CommandError) -> None:
    """Print an error and its details on stderr."""
    from jobmill.cli.output import escape, make_console

    console = make_console(stderr=True)
    console.print(f"[bold red]error:[/bold red] {escape(error.message, multiline=True)}")
    for line in error.details:
        console.print(f"  {escape(line, multiline=True)}")


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn jobmill and database errors raised inside the block into a message and
    an exit code."""
    try:
        yield
    except (CommandError, JobmillError, ParamError) as exc:
        error = describe(exc)
        report(error)
        raise typer.Exit(error.code) from None
    except Exception as exc:  # unreachable server, wrong credentials, missing tables...
        if not _is_database_error(exc):
            raise
        cause = getattr(exc, "orig", exc)  # the driver's own error
        report(CommandError(f"database error: {str(cause).strip()}"))
        raise typer.Exit(FAILURE) from None


def _is_database_error(exc: Exception) -> bool:
    # Only a command that loaded SQLAlchemy can meet its errors; the others
    # (and `jobmill --help`) do not import it for this check.
    sqlalchemy_errors = sys.modules.get("sqlalchemy.exc")
    return sqlalchemy_errors is not None and isinstance(exc, sqlalchemy_errors.DBAPIError)
