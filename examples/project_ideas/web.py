"""The seed's "server action" over HTTP: queue project-idea generation for a team.

``POST /actions/generate-projects`` with a JSON body ``{"team_id": 1}`` (optional
``theme``, ``count``, ``user_id``; the seed's ``teamId``/``userId`` work too)
queues ``GenerateProjectIdeasJob`` with ``later`` and answers
``{"success": true, "message": "Job queued", "job_id": "..."}``. Bad input
gets ``{"success": false, "error": "..."}`` with a 4xx status. A worker
(``bin/jobs worker``) runs the queued job.

Serve it on the loopback interface: ``python -m project_ideas.web --port 8001``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from project_ideas import database, repository
from project_ideas.errors import NotFound
from project_ideas.jobs import GenerateProjectIdeasJob, GenerateProjectIdeasParams

ACTION_THEME = "Generate innovative SaaS product ideas"
ACTION_COUNT = 10

logger = logging.getLogger("project_ideas.web")


async def generate_projects(request: Request) -> JSONResponse:
    """Queue ``GenerateProjectIdeasJob`` for the team in the body; answer with its id."""
    try:
        body = await request.json()
    except ValueError:
        return _failure(400, 'the request body must be JSON, e.g. {"team_id": 1}')
    if not isinstance(body, dict):
        return _failure(400, 'the request body must be a JSON object, e.g. {"team_id": 1}')
    try:
        params = GenerateProjectIdeasParams.model_validate(
            {"theme": ACTION_THEME, "count": ACTION_COUNT, **body}
        )
    except ValidationError as exc:
        return _failure(422, _describe(exc))
    if params.team_id is None:
        return _failure(422, "team_id: required (a team id, slug or name)")
    try:
        # A job for a missing team could only fail later, in the worker: refuse it now.
        await asyncio.to_thread(_check_team, params.team_id)
        job_id = await GenerateProjectIdeasJob.alater(params)
    except NotFound as exc:
        return _failure(404, str(exc))
    except Exception:
        logger.exception("could not queue GenerateProjectIdeasJob")
        return _failure(500, "Failed to queue job")
    return JSONResponse({"success": True, "message": "Job queued", "job_id": job_id}, 202)


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


def _check_team(reference: int | str) -> None:
    with database.session() as db:
        repository.find_team(db, reference)


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False):
        field = ".".join(str(part) for part in error["loc"]) or "body"
        problems.append(f"{field}: {error['msg']} (got {error.get('input')!r:.80})")
    return "; ".join(problems)


def _failure(status: int, error: str) -> JSONResponse:
    return JSONResponse({"success": False, "error": error}, status)


def create_app() -> Starlette:
    """The example's ASGI application."""
    return Starlette(
        routes=[
            Route("/actions/generate-projects", generate_projects, methods=["POST"]),
            Route("/healthz", healthz),
        ]
    )


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m project_ideas.web")
    parser.add_argument("--host", default="127.0.0.1", help="loopback by default")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    uvicorn.run(create_app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
