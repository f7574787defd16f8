"""The application's settings, from the environment.

``PROJECT_IDEAS_DATABASE_URL``: where users, teams, projects and tags live;
by default the database jobmill is configured to use, so the application and
its job queue share one file.
``PROJECT_IDEAS_MODEL``: the pydantic-ai model that proposes ideas
(``openai:gpt-4o``, ``anthropic:claude-sonnet-4-0``, ``ollama:llama3.2``, ...);
unset or ``offline`` for the built-in offline generator.
"""

from __future__ import annotations

import os

from jobmill.runtime import get_settings

OFFLINE = "offline"
MODEL_VARIABLE = "PROJECT_IDEAS_MODEL"
DATABASE_VARIABLE = "PROJECT_IDEAS_DATABASE_URL"


def database_url() -> str:
    """The application's database: ``PROJECT_IDEAS_DATABASE_URL``, else jobmill's."""
    return os.environ.get(DATABASE_VARIABLE, "").strip() or get_settings().database_url


def model_name() -> str:
    """The model named by ``PROJECT_IDEAS_MODEL``, or ``offline``."""
    return os.environ.get(MODEL_VARIABLE, "").strip() or OFFLINE
