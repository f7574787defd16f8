"""Who may use the dashboard: loopback clients only, unless HTTP Basic credentials
are configured (``dashboard_auth``) or the host application authenticates itself.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
from dataclasses import dataclass

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from jobmill.errors import ConfigurationError

REALM = "jobmill dashboard"
# Probes from a load balancer must not need the password.
OPEN_PATHS = frozenset({"/healthz"})


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ``::1``)."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, auth: str | None) -> None:
    """Refuse to serve on a non-loopback address without authentication."""
    if auth is None and not is_loopback(host):
        raise ConfigurationError(
            f"refusing to serve the dashboard on {host!r} without authentication: "
            "set dashboard_auth (JOBMILL_DASHBOARD_AUTH=user:password) or use --host 127.0.0.1"
        )


@dataclass(frozen=True)
class Credentials:
    """The one user/password pair HTTP Basic accepts."""

    user: str
    password: str

    @classmethod
    def parse(cls, value: str) -> Credentials:
        """``"user:password"``; the error never repeats the value (it holds a password)."""
        user, sep, password = value.partition(":")
        if not sep or not user or not password:
            raise ConfigurationError(
                "dashboard_auth (JOBMILL_DASHBOARD_AUTH) must be 'user:password' "
                "with a non-empty user and password"
            )
        return cls(user, password)

    def check(self, authorization: str | None) -> str | None:
        """The user name if the ``Authorization`` header carries these credentials."""
        scheme, _, encoded = (authorization or "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, _, password = decoded.partition(":")
        # Compare both parts, always, in constant time.
        user_ok = hmac.compare_digest(user.encode(), self.user.encode())
        password_ok = hmac.compare_digest(password.encode(), self.password.encode())
        return user if user_ok and password_ok else None


class AuthMiddleware:
    """Basic auth when credentials are set; else only loopback clients get in.

    ``external_auth`` trusts the host application to have authenticated the
    request already (the dashboard mounted behind the application's own login);
    a user name the application put in ``scope["state"]["user"]`` is kept.
    The user name (or None) is left in ``scope["state"]["user"]``.
    """

    def __init__(
        self, app: ASGIApp, credentials: Credentials | None, external_auth: bool = False
    ) -> None:
        self.app = app
        self.credentials = credentials
        self.external_auth = external_auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _route_path(scope) in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        # Behind the host application's login, the user it named (if any) acts.
        state["user"] = state.get("user") if self.external_auth else None
        refusal = self._refusal(scope, state)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope, state: dict[str, object]) -> PlainTextResponse | None:
        if self.credentials is not None:
            user = self.credentials.check(_header(scope, b"authorization"))
            if user is None:
                return PlainTextResponse(
                    "authentication required",
                    status_code=401,
                    headers={"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'},
                )
            state["user"] = user
            return None
        client = scope.get("client")
        # No client address means a Unix socket: local by construction.
        if self.external_auth or client is None or is_loopback(client[0]):
            return None
        return PlainTextResponse(
            "the jobmill dashboard answers only loopback clients unless "
            "dashboard_auth (JOBMILL_DASHBOARD_AUTH=user:password) is set",
            status_code=403,
        )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path
