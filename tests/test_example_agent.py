"""The project-ideas agent: typed output, validation and retries, model choice,
and the offline generator. No network: pydantic-ai's test models drive it."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError
from pydantic_ai.messages import ModelMessage, ModelResponse, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.models.test import TestModel

from example_support import answering, idea
from project_ideas import agent, offline
from project_ideas.errors import ModelUnavailable
from project_ideas.ideas import IdeaRequest, ProjectIdea, tag_slug


@pytest.fixture(autouse=True)
def _no_configured_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROJECT_IDEAS_MODEL", raising=False)


def test_generate_returns_the_models_typed_ideas_with_tags_normalised() -> None:
    model = TestModel(
        custom_output_args={"ideas": [idea("Churn Radar", "Machine Learning", "machine-learning")]}
    )
    with agent.ideas_agent.override(model=model):
        generated = agent.generate(IdeaRequest("AI", 1))
    assert generated.ideas == [
        ProjectIdea(
            title="Churn Radar",
            description="Churn Radar: what it does, for whom.",
            tags=["machine-learning"],
        )
    ]
    assert generated.model == "test"
    assert not generated.offline


def test_generate_asks_again_when_the_answer_is_short_or_repeats_a_title() -> None:
    model, calls = answering(
        [idea("Existing Project", "ai")],
        [idea("Fresh One", "ai"), idea("Fresh Two", "web")],
    )
    with agent.ideas_agent.override(model=model):
        generated = agent.generate(IdeaRequest("AI", 2, ("existing project",)))
    assert [i.title for i in generated.ideas] == ["Fresh One", "Fresh Two"]
    assert len(calls) == 2  # the retry carried the validator's complaint back


def test_generate_accepts_a_stubborn_answer_once_retries_are_spent() -> None:
    model, calls = answering([idea("Same Title", "ai"), idea("Other", "ai"), idea("Third", "ai")])
    with agent.ideas_agent.override(model=model):
        generated = agent.generate(IdeaRequest("AI", 2, ("same title",)))
    # Asked 1 + retries times, then the answer is trimmed to the count; the
    # job, not the agent, skips the title the team already has.
    assert len(calls) == 3
    assert [i.title for i in generated.ideas] == ["Same Title", "Other"]


def test_instructions_ask_for_the_count_and_list_the_titles_to_avoid() -> None:
    seen: list[str] = []

    def answer(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        seen.append(info.instructions or "")
        output = {"ideas": [idea("New Idea", "ai")]}
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, output)])

    with agent.ideas_agent.override(model=FunctionModel(answer)):
        agent.generate(IdeaRequest("AI", 1, ("Old Project",)))
    assert "Return exactly 1 ideas" in seen[0]
    assert "propose different titles: Old Project" in seen[0]


def test_default_model_is_the_offline_generator_and_says_so() -> None:
    generated = agent.generate(IdeaRequest("AI and ML projects", 4))
    assert generated.offline
    assert generated.model == agent.OFFLINE_MODEL_NAME
    assert len(generated.ideas) == 4
    assert all("ai" in i.tags for i in generated.ideas)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("openai:gpt-4o", "pydantic-ai-slim[openai]"), ("nonsense-model", "Unknown model")],
)
def test_an_unusable_model_raises_model_unavailable_naming_it(
    name: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROJECT_IDEAS_MODEL", name)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ModelUnavailable) as caught:
        agent.generate(IdeaRequest("AI", 1))
    message = str(caught.value)
    assert f"PROJECT_IDEAS_MODEL={name!r}" in message
    assert expected in message
    assert "offline generator" in message


def test_idea_validation_rejects_empty_tags_and_short_titles() -> None:
    with pytest.raises(ValidationError, match="tag"):
        ProjectIdea(title="Valid title", description="long enough text", tags=["!!!"])
    with pytest.raises(ValidationError, match="title"):
        ProjectIdea(title="ab", description="long enough text", tags=["ai"])
    assert tag_slug("  Machine Learning / AI ") == "machine-learning-ai"


# The offline generator (pure) ------------------------------------------------


def test_offline_ideas_vary_from_run_to_run() -> None:
    runs = [offline.generate_ideas("AI and ML", 3, rng=random.Random(seed)) for seed in (1, 2)]
    assert {i.title for i in runs[0]} != {i.title for i in runs[1]}


def test_offline_ideas_follow_the_theme() -> None:
    health = offline.generate_ideas("Health and fitness", 5, rng=random.Random(3))
    finance = offline.generate_ideas("Personal finance", 5, rng=random.Random(3))
    assert all("health" in i.tags for i in health)
    assert all("finance" in i.tags for i in finance)
    assert not {i.title for i in health} & {i.title for i in finance}


def test_offline_ideas_for_an_unknown_theme_carry_its_words() -> None:
    ideas = offline.generate_ideas("Beekeeping", 3, rng=random.Random(4))
    assert all(i.title.startswith("Beekeeping ") and "beekeeping" in i.tags for i in ideas)


def test_offline_ideas_avoid_existing_titles_and_never_repeat() -> None:
    rng = random.Random(5)
    first = offline.generate_ideas("Data dashboards", 20, rng=rng)
    taken = tuple(i.title.upper() for i in first)
    more = offline.generate_ideas("Data dashboards", 50, taken, rng=rng)
    titles = [i.title.casefold() for i in first + more]
    assert len(more) == 50
    assert len(set(titles)) == len(titles)


def test_offline_ideas_of_a_short_list_use_different_products() -> None:
    ideas = offline.generate_ideas("SaaS", 6, rng=random.Random(6))
    products = {i.title.split(" for ")[0] for i in ideas}
    assert len(products) == 6
