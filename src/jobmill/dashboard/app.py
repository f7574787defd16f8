"""The dashboard's app factory: routes, templates, static assets, middleware."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobmill import registry
from jobmill.dashboard.auth import AuthMiddleware, Credentials
from jobmill.dashboard.csrf import CSRFMiddleware
from jobmill.dashboard.hosts import HostCheckMiddleware
from jobmill.dashboard.routes import routes
from jobmill.dashboard.templating import make_templates, render
from jobmill.errors import (
    AmbiguousJobId,
    CronError,
    InvalidParams,
    JobNotFound,
    JobStateError,
    UnknownJob,
)
from jobmill.runtime import get_settings
from jobmill.store.cron import CronJobNotFound

HERE = Path(__file__).parent
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


def create_app(
    *, auth: str | None = None, secret: str | None = None, external_auth: bool = False
) -> Starlette:
    """The dashboard as an ASGI app, to serve or to mount in your own app.

    ``auth`` ("user:password", HTTP Basic) and ``secret`` (the CSRF signing key)
    default to the ``dashboard_auth`` and ``dashboard_secret`` settings; without
    a secret, a random one is made for this process. Without auth, only
    loopback clients are answered, and only requests addressed to a loopback
    name, the server's own address or a ``dashboard_allowed_hosts`` name,
    unless ``external_auth=True`` says the host application authenticates
    requests before they reach the dashboard::

        app.mount("/jobs", jobmill.dashboard.create_app(auth="admin:s3cret"))
    """
    settings = get_settings()
    auth = auth if auth is not None else settings.dashboard_auth
    secret = secret if secret is not None else settings.dashboard_secret
    credentials = Credentials.parse(auth) if auth is not None else None
    # Cron entries are checked (enable) and run (run now) against their job
    # classes, so the job modules must be imported here.
    registry.import_job_modules(settings.imports)
    app = Starlette(
        routes=[*routes, Mount("/static", StaticFiles(directory=HERE / "static"), name="static")],
        middleware=[
            Middleware(SecurityHeadersMiddleware),
            Middleware(
                HostCheckMiddleware,
                allowed=settings.dashboard_allowed_hosts,
                enabled=credentials is None and not external_auth,
            ),
            Middleware(AuthMiddleware, credentials=credentials, external_auth=external_auth),
            Middleware(CSRFMiddleware, secret=(secret or secrets.token_hex(32)).encode()),
        ],
        exception_handlers={
            JobNotFound: _error_page(404),
            CronJobNotFound: _error_page(404),
            AmbiguousJobId: _error_page(400),
            JobStateError: _error_page(409),
            CronError: _error_page(400),
            InvalidParams: _error_page(400),
            UnknownJob: _error_page(400),
            HTTPException: _error_page(None),
            # Answered outside every middleware, so the headers are added here.
            Exception: _server_error,
        },
    )
    app.state.templates = make_templates()
    return app


def _error_page(status_code: int | None) -> Any:
    """A handler rendering ``exc`` as an error page (status from ``HTTPException``)."""

    def handle(request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException):
            status, message = exc.status_code, exc.detail
        else:
            status, message = status_code or 500, str(exc)
        candidates = exc.candidates if isinstance(exc, AmbiguousJobId) else []
        context = {"status_code": status, "message": message, "candidates": candidates}
        context["back"] = _back_link(request)
        return render(request, "error.html", context, status)

    return handle


def _server_error(request: Request, exc: Exception) -> Response:
    """The answer to a request that failed unexpectedly (the error is logged)."""
    headers = {name.decode(): value.decode() for name, value in SECURITY_HEADERS}
    return PlainTextResponse("internal server error (see the dashboard's log)", 500, headers)


# Error pages link back to the section the request came from; the rest to Jobs.
BACK_LINKS = {"cron": "Back to cron", "failed": "Back to the failed jobs"}


def _back_link(request: Request) -> tuple[str, str]:
    """``(section path, label)`` for the error page's way back."""
    root: str = request.scope.get("root_path", "")
    path = request.url.path
    relative = path[len(root) :] if root and path.startswith(root) else path
    section = relative.strip("/").split("/")[0]
    if section in BACK_LINKS:
        return f"/{section}", BACK_LINKS[section]
    return "/jobs", "Back to the jobs"


class SecurityHeadersMiddleware:
    """No framing, no sniffing, scripts and styles from the dashboard only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers if scope["type"] == "http" else send)
