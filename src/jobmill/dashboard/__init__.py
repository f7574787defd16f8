"""The web dashboard: ``jobmill dashboard`` serves it; ``create_app()`` mounts it.

Server-rendered (Starlette, Jinja2, htmx), assets shipped in the package.
"""

from __future__ import annotations

from jobmill.dashboard.app import create_app

__all__ = ["create_app"]
