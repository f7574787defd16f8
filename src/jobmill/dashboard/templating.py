"""Jinja templates: autoescaped, strict about undefined names, with the
formatting filters and the context every page shares."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from jobmill import __version__
from jobmill.clock import utcnow
from jobmill.dashboard import present
from jobmill.humanize import format_duration, format_time

TEMPLATES = Path(__file__).parent / "templates"


def make_templates() -> Jinja2Templates:
    """The dashboard's template set (every value from the database is escaped)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        time=partial(format_time, missing=""),
        duration=partial(format_duration, missing=""),
        ago=present.relative_time,
        pretty_json=present.pretty_json,
    )
    env.globals["query_string"] = present.query_string
    return Jinja2Templates(env=env, context_processors=[_common_context])


def _common_context(request: Request) -> dict[str, Any]:
    state = request.scope.get("state", {})
    base = request.scope.get("root_path", "").rstrip("/")
    path = request.url.path[len(base) :] if request.url.path.startswith(base) else "/"
    return {
        "base": base,
        "here": path + present.query_string(present.without_notices(request.query_params)),
        "notices": present.notices(request.query_params),
        "csrf_token": state.get("csrf_token", ""),
        "user": state.get("user"),
        "now": utcnow(),
        "version": __version__,
    }


def render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    """A rendered page or partial."""
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, template, context, status_code=status_code)
