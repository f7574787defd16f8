"""The agent's typed output: project ideas with a title, a description and tags."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from project_ideas.models import TAG_LENGTH, TITLE_LENGTH

MAX_TAGS = 6
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def tag_slug(name: str) -> str:
    """``"Machine Learning"`` → ``"machine-learning"``: one spelling per tag."""
    return _NOT_SLUG.sub("-", name.casefold()).strip("-")[:TAG_LENGTH].strip("-")


def title_key(title: str) -> str:
    """What makes two titles the same: case and spacing do not count."""
    return " ".join(title.split()).casefold()


def _clean_title(title: str) -> str:
    return " ".join(title.split())


def _clean_tags(tags: list[str]) -> list[str]:
    slugs = list(dict.fromkeys(slug for slug in map(tag_slug, tags) if slug))
    if not slugs:
        raise ValueError("at least one tag with letters or digits is required")
    return slugs[:MAX_TAGS]


class ProjectIdea(BaseModel):
    """One idea. Tags are normalised to lowercase slugs, duplicates removed."""

    title: Annotated[str, AfterValidator(_clean_title)] = Field(
        min_length=3, max_length=TITLE_LENGTH, description="A short, specific project name."
    )
    description: str = Field(
        min_length=10, max_length=2000, description="Two or three sentences: what and for whom."
    )
    tags: Annotated[list[str], AfterValidator(_clean_tags)] = Field(
        min_length=1, max_length=12, description="1 to 6 short topic tags, e.g. 'machine-learning'."
    )


class ProjectIdeas(BaseModel):
    """What the agent must return."""

    ideas: list[ProjectIdea] = Field(min_length=1)


@dataclass(frozen=True)
class IdeaRequest:
    """What the agent is asked for: ``count`` ideas on ``theme``, none of ``avoid_titles``."""

    theme: str
    count: int
    avoid_titles: tuple[str, ...] = field(default=())


def request_problems(request: IdeaRequest, ideas: ProjectIdeas) -> list[str]:
    """Why ``ideas`` does not answer ``request`` (empty when it does)."""
    problems = []
    if len(ideas.ideas) < request.count:
        problems.append(f"return exactly {request.count} ideas, not {len(ideas.ideas)}")
    keys = [title_key(idea.title) for idea in ideas.ideas]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        problems.append(f"titles must differ; repeated: {', '.join(repeated)}")
    taken = {title_key(title) for title in request.avoid_titles}
    clashes = [idea.title for idea in ideas.ideas if title_key(idea.title) in taken]
    if clashes:
        problems.append(f"these titles already exist, choose others: {', '.join(clashes)}")
    return problems
