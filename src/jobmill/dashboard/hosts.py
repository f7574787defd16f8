"""Which ``Host`` a dashboard without auth answers: a defence against DNS rebinding.

A page on ``evil.example`` can point its own name at 127.0.0.1 and then read
and post to a loopback-only dashboard as if it were same-origin: the browser
sends ``Host: evil.example``. Without auth, only requests addressed to
``localhost``, ``127.0.0.1``, ``[::1]`` (any port), the address the server
listens on, or a name of the ``dashboard_allowed_hosts`` setting are answered;
anything else gets 400 and nothing is done.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
SHOWN_MAX = 100


def host_name(header: str) -> str:
    """The host of a ``Host`` header without its port, lowercased (``[::1]:80`` → ``::1``)."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    return value.rpartition(":")[0] if value.count(":") == 1 else value


class HostCheckMiddleware:
    """Answers 400 to a request whose ``Host`` is not one the dashboard is reached by.

    ``enabled`` is False when auth is configured (a rebinding page cannot
    authenticate); ``allowed`` adds names, e.g. the one a reverse proxy forwards.
    """

    def __init__(self, app: ASGIApp, allowed: Iterable[str], enabled: bool = True) -> None:
        self.app = app
        self.allowed = LOOPBACK_NAMES | {host_name(name) for name in allowed}
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.enabled and scope["type"] == "http" and not self._addressed_to_us(scope):
            await self._refusal(scope)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _addressed_to_us(self, scope: Scope) -> bool:
        header = _host_header(scope)
        if header is None:
            return False
        name = host_name(header)
        server = scope.get("server")
        listening = host_name(str(server[0])) if server else None
        return name in self.allowed or name == listening

    @staticmethod
    def _refusal(scope: Scope) -> PlainTextResponse:
        header = _host_header(scope)
        shown = "no Host header" if header is None else f"Host {header[:SHOWN_MAX]!r}"
        return PlainTextResponse(
            f"{shown} is not this dashboard's address: without auth it answers only "
            "localhost, 127.0.0.1, [::1] and the address it listens on; add the name "
            "a reverse proxy forwards to dashboard_allowed_hosts "
            "(JOBMILL_DASHBOARD_ALLOWED_HOSTS)",
            status_code=400,
        )


def _host_header(scope: Scope) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == b"host":
            return bytes(value).decode("latin-1")
    return None
