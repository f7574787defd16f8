"""The project-ideas agent (pydantic-ai) and the model that drives it.

The model comes from ``PROJECT_IDEAS_MODEL`` (any name pydantic-ai knows:
``openai:gpt-4o``, ``anthropic:claude-sonnet-4-0``, ``ollama:llama3.2``, ...).
Unset, the offline generator drives the same agent through a
``FunctionModel``, so validation and retries follow one code path whatever
the model. Tests swap the model with ``ideas_agent.override(model=...)``.

Importing this module imports pydantic-ai (most of a second): the job imports
it only when it runs, so listing jobs stays quick.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from pydantic_ai import Agent, ModelRetry, RunContext
from pydantic_ai.exceptions import UserError
from pydantic_ai.messages import ModelMessage, ModelResponse, ToolCallPart
from pydantic_ai.models import Model
from pydantic_ai.models.function import AgentInfo, FunctionModel

from project_ideas import config
from project_ideas.errors import ModelUnavailable
from project_ideas.ideas import IdeaRequest, ProjectIdea, ProjectIdeas, request_problems
from project_ideas.offline import generate_ideas

OFFLINE_MODEL_NAME = "offline-generator"
MAX_AVOID_TITLES = 200

ideas_agent: Agent[IdeaRequest, ProjectIdeas] = Agent(
    output_type=ProjectIdeas,
    deps_type=IdeaRequest,
    name="project_ideas",
    retries=2,
    defer_model_check=True,  # the model is chosen per run
)


@dataclass(frozen=True)
class GeneratedIdeas:
    """The agent's answer and which model gave it."""

    ideas: list[ProjectIdea]
    model: str
    offline: bool


@ideas_agent.instructions
def _instructions(ctx: RunContext[IdeaRequest]) -> str:
    request = ctx.deps
    text = (
        "You propose software project ideas for a product team. "
        f"Return exactly {request.count} ideas on the theme the user gives. "
        "Each idea has a short specific title, a two or three sentence description "
        "saying what it does and for whom, and 1 to 6 short lowercase topic tags."
    )
    if request.avoid_titles:
        listed = "; ".join(request.avoid_titles[-MAX_AVOID_TITLES:])
        text += f" The team already has these projects; propose different titles: {listed}."
    return text


@ideas_agent.output_validator
def _check_answer(ctx: RunContext[IdeaRequest], output: ProjectIdeas) -> ProjectIdeas:
    """Ask again while retries last; then accept what came: the job skips titles the
    team already has, so a stubborn model costs ideas, not a failed job."""
    problems = request_problems(ctx.deps, output)
    if problems and ctx.retry < ctx.max_retries:
        raise ModelRetry("; ".join(problems))
    return ProjectIdeas(ideas=output.ideas[: ctx.deps.count])


def offline_model(request: IdeaRequest, rng: random.Random | None = None) -> FunctionModel:
    """A model that answers ``request`` with the offline generator, no network needed."""

    def answer(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        ideas = generate_ideas(request.theme, request.count, request.avoid_titles, rng)
        output = ProjectIdeas(ideas=ideas).model_dump(mode="json")
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, output)])

    return FunctionModel(answer, model_name=OFFLINE_MODEL_NAME)


def generate(request: IdeaRequest, model_name: str | None = None) -> GeneratedIdeas:
    """Ask the agent for ``request.count`` ideas with the named model (default: the
    configured one). Raises ``ModelUnavailable`` with what to do when it cannot run."""
    name = model_name or config.model_name()
    model: Model | str = offline_model(request) if name == config.OFFLINE else name
    try:
        # asyncio.run, not run_sync: run_sync leaves its event loop open on the thread.
        result = asyncio.run(ideas_agent.run(_prompt(request), deps=request, model=model))
    except (ImportError, UserError) as exc:
        raise ModelUnavailable(
            f"{config.MODEL_VARIABLE}={name!r} cannot be used: {exc}. Install the provider's "
            f"package and set its API key, or unset {config.MODEL_VARIABLE} to use the "
            "offline generator."
        ) from exc
    answered_by = result.response.model_name or name
    return GeneratedIdeas(
        ideas=result.output.ideas,
        model=answered_by,
        offline=answered_by == OFFLINE_MODEL_NAME,
    )


def _prompt(request: IdeaRequest) -> str:
    return f"Theme: {request.theme}\nNumber of ideas: {request.count}"
