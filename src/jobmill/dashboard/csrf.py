"""CSRF protection for every state-changing request.

Each browser gets a random nonce in an HttpOnly, SameSite=Strict cookie; its
token is the HMAC of that nonce under the dashboard secret. A POST must carry
the token (form field ``csrf_token`` or header ``X-CSRF-Token``) matching its
cookie, and an ``Origin`` header, when sent, must name this host. A page on
another site can neither read the token nor compute it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "jobmill_csrf"
FIELD = "csrf_token"
HEADER = b"x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_BODY = 1024 * 1024
NONCE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


def sign(secret: bytes, nonce: str) -> str:
    """The token that goes with ``nonce``."""
    return hmac.new(secret, nonce.encode(), hashlib.sha256).hexdigest()


def same_origin(headers: dict[bytes, str]) -> bool:
    """False when the browser says the request comes from another origin."""
    origin = headers.get(b"origin")
    if origin is None:
        return headers.get(b"sec-fetch-site", "same-origin") in ("same-origin", "none")
    if origin == "null":
        return False
    hosts = {headers.get(b"host"), headers.get(b"x-forwarded-host")} - {None}
    return urlsplit(origin).netloc in hosts


class CSRFMiddleware:
    """Refuses (403) any unsafe request without a valid token; puts the token for
    forms in ``scope["state"]["csrf_token"]``."""

    def __init__(self, app: ASGIApp, secret: bytes) -> None:
        self.app = app
        self.secret = secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {bytes(k).lower(): bytes(v).decode("latin-1") for k, v in scope["headers"]}
        nonce = _cookie_nonce(headers.get(b"cookie"))
        fresh = nonce is None
        if nonce is None:
            nonce = secrets.token_urlsafe(32)
        expected = sign(self.secret, nonce)
        scope.setdefault("state", {})["csrf_token"] = expected
        if scope["method"] not in SAFE_METHODS:
            body = await _read_body(receive)
            if body is None:
                await PlainTextResponse("request body too large", 413)(scope, receive, send)
                return
            problem = _problem(fresh, headers, body, expected)
            if problem is not None:
                await PlainTextResponse(problem, status_code=403)(scope, receive, send)
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, self._with_cookie(scope, send, nonce) if fresh else send)

    def _with_cookie(self, scope: Scope, send: Send, nonce: str) -> Send:
        path = scope.get("root_path") or "/"
        secure = "; Secure" if scope.get("scheme") == "https" else ""
        cookie = f"{COOKIE}={nonce}; Path={path}; HttpOnly; SameSite=Strict{secure}"

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie.encode())]
            await send(message)

        return send_with_cookie


def _problem(fresh: bool, headers: dict[bytes, str], body: bytes, expected: str) -> str | None:
    if not same_origin(headers):
        return "CSRF check failed: the request comes from another origin"
    if fresh:
        return "CSRF check failed: no CSRF cookie; reload the page and try again"
    given = headers.get(HEADER) or _form_token(headers.get(b"content-type", ""), body)
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        return "CSRF check failed: missing or invalid token; reload the page and try again"
    return None


def _cookie_nonce(header: str | None) -> str | None:
    if not header:
        return None
    cookies: SimpleCookie = SimpleCookie()
    try:
        cookies.load(header)
    except Exception:
        return None
    morsel = cookies.get(COOKIE)
    return morsel.value if morsel is not None and NONCE.match(morsel.value) else None


def _form_token(content_type: str, body: bytes) -> str | None:
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return None
    values = parse_qs(body.decode("latin-1"), max_num_fields=10_000).get(FIELD)
    return values[0] if values else None


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None past ``MAX_BODY``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """Hands the already-read body to the application, then the client's own messages."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay
