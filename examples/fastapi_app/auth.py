"""The shop's own login: a bearer token (API clients) or a ``session`` cookie
(browsers) names a user. Staff may open the jobmill dashboard."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException, Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send


@dataclass(frozen=True)
class User:
    name: str
    staff: bool


# A real shop looks sessions up in its database; the demo knows two.
SESSIONS = {"staff-token": User("ada", staff=True), "customer-token": User("bob", staff=False)}


def user_for(request: Request) -> User | None:
    header = request.headers.get("authorization", "")
    token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
    return SESSIONS.get(token or request.cookies.get("session", ""))


def current_user(request: Request) -> User:
    """FastAPI dependency: the signed-in user, else 401."""
    user = user_for(request)
    if user is None:
        raise HTTPException(401, "sign in first")
    return user


# --8<-- [start:staff_only]
class StaffOnly:
    """ASGI wrapper for a mounted app: staff pass, with their name in
    ``scope["state"]["user"]``; others get 401 or 403."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            user = user_for(Request(scope))
            if user is None or not user.staff:
                status, text = (401, "sign in first") if user is None else (403, "staff only")
                await PlainTextResponse(text, status_code=status)(scope, receive, send)
                return
            scope.setdefault("state", {})["user"] = user.name
        await self.app(scope, receive, send)


# --8<-- [end:staff_only]
