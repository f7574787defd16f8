"""The ``Job`` base class: define a job once, run it now, later or as a batch."""

from __future__ import annotations

import inspect
import logging
import math
import types
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Generic,
    TypeVar,
    Unpack,
    cast,
    get_args,
    get_origin,
    overload,
)

from jobmill import registry
from jobmill.codec import Codec
from jobmill.errors import JobCancelled
from jobmill.outcomes import default_backoff
from jobmill.records import JobResult
from jobmill.storable import JOB_NAME_LENGTH, QUEUE_LENGTH, check_integer, check_text

if TYPE_CHECKING:
    from jobmill.context import AttemptContext
    from jobmill.dispatch import Dispatch, JobStep
    from jobmill.options import Options

P = TypeVar("P")
R = TypeVar("R")


class Job(Generic[P, R]):
    """A typed unit of work. Subclass with ``Job[Params, Result]`` and define ``perform``.

    Example::

        class SendEmailJob(Job[SendEmailParams, SendEmailResult]):
            queue = "mail"
            max_attempts = 3

            def perform(self, params: SendEmailParams) -> SendEmailResult:
                self.update_progress(50, "Sending...")
                return SendEmailResult(message_id="...")

        SendEmailJob.now(to="a@example.com", subject="Hi")    # run here, wait
        SendEmailJob.later(to="a@example.com", subject="Hi")  # queue, returns id
    """

    name: ClassVar[str | None] = None
    queue: ClassVar[str] = "default"
    priority: ClassVar[int] = 0
    max_attempts: ClassVar[int] = 3
    timeout: ClassVar[float | None] = None
    cli_name: ClassVar[str | None] = None
    retry_on: ClassVar[tuple[type[BaseException], ...]] = (Exception,)
    discard_on: ClassVar[tuple[type[BaseException], ...]] = ()
    cron: ClassVar[str | None] = None
    cron_params: ClassVar[Mapping[str, Any] | None] = None
    cron_timezone: ClassVar[str] = "UTC"

    job_name: ClassVar[str]
    codec: ClassVar[Codec]
    is_async: ClassVar[bool]
    abstract: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.abstract = bool(cls.__dict__.get("abstract", False))
        if cls.abstract or cls.perform is Job.perform:
            return
        cls.job_name = cls.__dict__.get("name") or cls.__name__
        params_type, result_type = _type_arguments(cls)
        cls.codec = Codec(cls.job_name, params_type, result_type)
        cls.codec.check_types()
        cls.is_async = inspect.iscoroutinefunction(cls.perform)
        _check_options(cls)
        registry.register(cls)

    def __init__(self, context: AttemptContext) -> None:
        self._context = context

    def perform(self, params: P) -> R | Awaitable[R]:
        """The work. Override with ``def`` or ``async def``."""
        raise NotImplementedError

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retrying after failed ``attempt`` (1-based).

        Exponential (1 s, 2 s, 4 s, ... up to an hour) with ±25 % jitter so
        that jobs failing together do not retry together.
        """
        return default_backoff(attempt)

    # Inside perform -----------------------------------------------------

    @property
    def id(self) -> str:
        return self._context.record.id

    @property
    def attempt(self) -> int:
        """The current attempt number, starting at 1."""
        return self._context.record.attempts

    @property
    def logger(self) -> logging.LoggerAdapter[logging.Logger]:
        return self._context.logger

    @property
    def cancel_requested(self) -> bool:
        """True once cancellation (or the timeout) asked this attempt to stop."""
        return self._context.cancel_requested

    @property
    def dependency_results(self) -> dict[str, Any]:
        """Stored results of the jobs this one depends on, by job id."""
        return self._context.dependency_results

    def update_progress(self, percent: float, message: str | None = None) -> Awaitable[None]:
        """Report progress from 0 to 100 (else ``ValueError``); cheap, persisted in batches.

        Call it plainly from sync or async code; ``await self.update_progress(...)``
        works too (there is nothing to wait for).
        """
        self._context.reporter.update(percent, message)
        return _RECORDED

    def raise_if_cancelled(self) -> None:
        """Raise ``JobCancelled`` if cancellation was requested (for sync jobs' loops)."""
        if self.cancel_requested:
            raise JobCancelled(f"job {self.id} was cancelled")

    # Dispatching ---------------------------------------------------------

    @classmethod
    def set(cls, **options: Unpack[Options]) -> Dispatch[P, R]:
        """Options for the next dispatch (``queue``, ``priority``, ``delay``, ``run_at``,
        ``max_attempts``, ``timeout``, ``unique_key``, ``depends_on``, ``connection``:
        see ``jobmill.options.Options``); chainable:
        ``J.set(queue="x").set(delay=5).later()``."""
        from jobmill.dispatch import Dispatch  # the facade: dispatching lives there

        return Dispatch(cls).set(**options)

    @classmethod
    def now(cls, params: P | Mapping[str, Any] | None = None, /, **kwargs: Any) -> JobResult[R]:
        """Run in the caller, once, recorded in the jobs table; raises ``JobFailed``."""
        return cls.set().now(params, **kwargs)

    @classmethod
    async def anow(
        cls, params: P | Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> JobResult[R]:
        return await cls.set().anow(params, **kwargs)

    @classmethod
    def later(cls, params: P | Mapping[str, Any] | None = None, /, **kwargs: Any) -> str:
        """Store a pending job for a worker; returns its id. Nothing runs here."""
        return cls.set().later(params, **kwargs)

    @classmethod
    async def alater(cls, params: P | Mapping[str, Any] | None = None, /, **kwargs: Any) -> str:
        return await cls.set().alater(params, **kwargs)

    @classmethod
    def later_many(cls, items: Sequence[P | Mapping[str, Any]]) -> list[str]:
        """Store many pending jobs in one transaction; all or none."""
        return cls.set().later_many(items)

    @classmethod
    async def alater_many(cls, items: Sequence[P | Mapping[str, Any]]) -> list[str]:
        return await cls.set().alater_many(items)

    @classmethod
    def batch(
        cls,
        items: Sequence[P | Mapping[str, Any]],
        *,
        concurrency: int = 5,
        stop_on_error: bool = False,
    ) -> list[JobResult[R]]:
        """Run now, at most ``concurrency`` at once; results in input order, failures included."""
        return cls.set().batch(items, concurrency=concurrency, stop_on_error=stop_on_error)

    @classmethod
    async def abatch(
        cls,
        items: Sequence[P | Mapping[str, Any]],
        *,
        concurrency: int = 5,
        stop_on_error: bool = False,
    ) -> list[JobResult[R]]:
        return await cls.set().abatch(items, concurrency=concurrency, stop_on_error=stop_on_error)

    @classmethod
    def execute_from_database(cls, job_id: str) -> JobResult[R]:
        """Claim the pending job ``job_id`` as a worker would, and run it here."""
        return cls.set().execute_from_database(job_id)

    @classmethod
    async def aexecute_from_database(cls, job_id: str) -> JobResult[R]:
        return await cls.set().aexecute_from_database(job_id)

    @classmethod
    def step(cls, params: P | Mapping[str, Any] | None = None, /, **kwargs: Any) -> JobStep:
        """Describe a job without enqueuing it, for ``jobmill.chain``."""
        return cls.set().step(params, **kwargs)


def _type_arguments(cls: type) -> tuple[Any, Any]:
    for klass in cls.__mro__:
        for base in getattr(klass, "__orig_bases__", ()):
            origin = get_origin(base)
            if isinstance(origin, type) and issubclass(origin, Job):
                args = get_args(base)
                if len(args) == 2 and not any(isinstance(a, TypeVar) for a in args):
                    return args[0], args[1]
    return Any, Any


def _check_options(cls: type[Job[Any, Any]]) -> None:
    name = cls.job_name
    check_text("job name", name, JOB_NAME_LENGTH)
    if not isinstance(cls.max_attempts, int) or cls.max_attempts < 1:
        raise ValueError(f"{name}.max_attempts must be an integer >= 1, got {cls.max_attempts!r}")
    check_integer(f"{name}.max_attempts", cls.max_attempts)
    check_integer(f"{name}.priority", cls.priority)
    if cls.timeout is not None and not (math.isfinite(cls.timeout) and cls.timeout > 0):
        raise ValueError(f"{name}.timeout must be positive or None, got {cls.timeout!r}")
    if not cls.queue:
        raise ValueError(f"{name}.queue must be a non-empty string")
    check_text(f"{name}.queue", cls.queue, QUEUE_LENGTH)


def create_job(name: str, fn: Callable[..., Any], **options: Any) -> type[Job[Any, Any]]:
    """Turn a plain (sync or async) function into a Job class with the same API.

    ``fn`` takes the params (typed by its first parameter's annotation) and
    returns the result (typed by its return annotation)::

        SendEmail = create_job("SendEmail", send_email, queue="mail")
        SendEmail.now({"to": "user@example.com", "subject": "Hello"})
    """
    hints = inspect.get_annotations(fn, eval_str=True)
    parameters = list(inspect.signature(fn).parameters.values())
    params_type = hints.get(parameters[0].name, Any) if parameters else Any
    result_type = hints.get("return", Any)
    if inspect.iscoroutinefunction(fn):

        async def perform(self: Job[Any, Any], params: Any) -> Any:
            return await fn(params)
    else:

        def perform(self: Job[Any, Any], params: Any) -> Any:  # type: ignore[misc]
            return fn(params)

    namespace = {"name": name, "perform": perform, "__module__": fn.__module__, **options}
    base = Job[params_type, result_type]  # type: ignore[valid-type]
    created = types.new_class(name, (base,), exec_body=lambda ns: ns.update(namespace))
    return cast(type[Job[Any, Any]], created)


@overload
def job(name: Callable[..., Any], /) -> type[Job[Any, Any]]: ...


@overload
def job(
    name: str | None = None, **options: Any
) -> Callable[[Callable[..., Any]], type[Job[Any, Any]]]: ...


def job(
    name: str | Callable[..., Any] | None = None, **options: Any
) -> type[Job[Any, Any]] | Callable[[Callable[..., Any]], type[Job[Any, Any]]]:
    """Decorator form of ``create_job``: ``@job`` or ``@job(queue="mail")`` over
    ``def send_email(params: P) -> R``; the job is named after the function."""
    if callable(name):
        return create_job(name.__name__, name)

    def decorate(fn: Callable[..., Any]) -> type[Job[Any, Any]]:
        return create_job(name or fn.__name__, fn, **options)

    return decorate


class _Recorded:
    """What ``update_progress`` returns: awaiting it finishes at once."""

    def __await__(self) -> Generator[None, None, None]:
        yield from ()


_RECORDED = _Recorded()
