"""``GenerateProjectIdeasJob``: ask the agent for project ideas and save them.

    from project_ideas.jobs import GenerateProjectIdeasJob

    result = GenerateProjectIdeasJob.now(theme="AI and ML projects", count=5)
    print(f"Created {result.data.projects_created} projects")
    job_id = GenerateProjectIdeasJob.later(team_id=1, theme="SaaS ideas")

Also ``bin/jobs generate-projects --param theme="AI projects" --param count=5``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from jobmill import Job
from project_ideas import config, database, repository
from project_ideas.errors import ModelUnavailable, NotFound
from project_ideas.ideas import IdeaRequest, ProjectIdea

if TYPE_CHECKING:
    from project_ideas.agent import GeneratedIdeas

DEFAULT_THEME = "Generate web development projects focused on AI"
DEFAULT_COUNT = 10
MAX_COUNT = 50


class GenerateProjectIdeasParams(BaseModel):
    """What to generate, for whom. Not given: the first team and the admin user.

    The seed's camelCase names (``teamId``, ``userId``) are accepted too.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    team_id: int | str | None = Field(
        None,
        validation_alias=AliasChoices("team_id", "teamId"),
        description="Team id, slug or name; the first team when not given.",
    )
    theme: str = Field(DEFAULT_THEME, min_length=1, max_length=500)
    count: int = Field(DEFAULT_COUNT, ge=1, le=MAX_COUNT)
    user_id: int | None = Field(
        None,
        validation_alias=AliasChoices("user_id", "userId"),
        description="The user the projects are created by; the admin user when not given.",
    )


class GenerateProjectIdeasResult(BaseModel):
    """What the job saved. Counts include earlier attempts of the same job."""

    projects_created: int
    tags_created: int
    project_ids: list[int]
    team_id: int
    user_id: int
    model: str
    offline: bool
    skipped_titles: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class Target:
    """Who the ideas are for, resolved from the params, and what exists already."""

    team_id: int
    team_name: str
    user_id: int
    titles: tuple[str, ...]
    saved_before: list[int]


class GenerateProjectIdeasJob(Job[GenerateProjectIdeasParams, GenerateProjectIdeasResult]):
    """Generates project ideas with the agent and saves them as the team's projects.

    Idempotent: a title the team already has is never saved twice, and a retried
    attempt asks only for the ideas its earlier attempts did not save.
    """

    cli_name = "generate-projects"
    max_attempts = 3
    timeout = 600
    # Retrying cannot create a missing team or install a provider package.
    discard_on = (NotFound, ModelUnavailable)

    def perform(self, params: GenerateProjectIdeasParams) -> GenerateProjectIdeasResult:
        self.update_progress(5, "Checking the team and the user")
        target = self._target(params)
        model = config.model_name()
        offline, skipped = model == config.OFFLINE, []
        wanted = params.count - len(target.saved_before)
        if wanted > 0:
            generated = self._ask(IdeaRequest(params.theme, wanted, target.titles), target, offline)
            model, offline = generated.model, generated.offline
            skipped = self._save(generated.ideas, target)
        with database.session() as db:
            project_ids = repository.projects_by_job(db, self.id)
            tags_created = repository.tags_by_job(db, self.id)
        return GenerateProjectIdeasResult(
            projects_created=len(project_ids),
            tags_created=tags_created,
            project_ids=project_ids,
            team_id=target.team_id,
            user_id=target.user_id,
            model=model,
            offline=offline,
            skipped_titles=skipped,
        )

    def _target(self, params: GenerateProjectIdeasParams) -> Target:
        with database.session() as db:
            team = repository.find_team(db, params.team_id)
            user = repository.find_user(db, params.user_id)
            return Target(
                team_id=team.id,
                team_name=team.name,
                user_id=user.id,
                titles=tuple(repository.team_titles(db, team.id)),
                saved_before=repository.projects_by_job(db, self.id),
            )

    def _ask(self, request: IdeaRequest, target: Target, offline: bool) -> GeneratedIdeas:
        from project_ideas.agent import generate  # imports pydantic-ai: only when needed

        asked = "the offline generator" if offline else config.model_name()
        self.update_progress(10, f"Asking {asked} for {request.count} ideas for {target.team_name}")
        generated = generate(request)
        self.update_progress(50, f"Received {len(generated.ideas)} ideas from {generated.model}")
        return generated

    def _save(self, ideas: list[ProjectIdea], target: Target) -> list[str]:
        """Save each idea in its own short transaction (progress is written between
        them, never while the database is locked); returns the titles skipped."""
        engine, skipped = database.get_engine(), []
        for number, idea in enumerate(ideas, start=1):
            saved = repository.save_idea(engine, idea, target.team_id, target.user_id, self.id)
            if saved.project_id is None:
                skipped.append(idea.title)
            verb = "Saved" if saved.project_id is not None else "Skipped (exists)"
            percent = 50 + 45 * number / len(ideas)
            self.update_progress(percent, f"{verb} {number}/{len(ideas)}: {idea.title}")
        return skipped
