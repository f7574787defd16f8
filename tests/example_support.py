"""Helpers shared by the example application's tests (test_example_*.py)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic_ai.messages import ModelMessage, ModelResponse, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

REPO = Path(__file__).resolve().parents[1]
APP_VARIABLES = ("PROJECT_IDEAS_MODEL", "PROJECT_IDEAS_DATABASE_URL")


def idea(title: str, *tags: str) -> dict[str, Any]:
    return {"title": title, "description": f"{title}: what it does, for whom.", "tags": list(tags)}


def answering(*answers: Sequence[dict[str, Any]]) -> tuple[FunctionModel, list[int]]:
    """A model giving ``answers`` in turn (the last one again when they run out),
    and the list of how many messages each request carried."""
    calls: list[int] = []

    def answer(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        ideas = answers[min(len(calls), len(answers) - 1)]
        calls.append(len(messages))
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, {"ideas": ideas})])

    return FunctionModel(answer, model_name="fixed-test-ideas"), calls


def script_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a script run against ``database_url`` only."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("JOBMILL_") and name not in APP_VARIABLES
    }
    env.update(JOBMILL_DATABASE_URL=database_url, NO_COLOR="1", **extra)
    return env
