"""Jobs the command-line tests run, in-process and in subprocesses (``--import cli_jobs``)."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel

from jobmill import Job


class CliGreetParams(BaseModel):
    name: str
    times: int = 1
    loud: bool = False


class CliGreetResult(BaseModel):
    greeting: str


class CliGreetJob(Job[CliGreetParams, CliGreetResult]):
    """Greets, reporting progress once per greeting."""

    cli_name = "cli-greet"

    def perform(self, params: CliGreetParams) -> CliGreetResult:
        words = []
        for done in range(1, params.times + 1):
            words.append(f"hello {params.name}")
            self.update_progress(100 * done / params.times, f"greeted {done}")
        text = ", ".join(words)
        return CliGreetResult(greeting=text.upper() if params.loud else text)


class CliNestedParams(BaseModel):
    class Target(BaseModel):
        host: str
        port: int

    target: Target
    tags: list[str] = []
    extra: dict[str, object] | None = None


class CliNestedJob(Job[CliNestedParams, dict[str, object]]):
    """Echoes its params back, to check how ``--param`` builds them."""

    queue = "cli-nested"

    def perform(self, params: CliNestedParams) -> dict[str, object]:
        return params.model_dump()


class CliFailJob(Job[dict[str, object], None]):
    """Always fails with a recognisable message."""

    max_attempts = 1

    def perform(self, params: dict[str, object]) -> None:
        raise RuntimeError(f"cli failure {params.get('code', 0)}")


class CliAsyncCountJob(Job[dict[str, int], int]):
    """Counts to ``steps`` on an event loop, reporting progress at each step."""

    async def perform(self, params: dict[str, int]) -> int:
        steps = params.get("steps", 2)
        for step in range(1, steps + 1):
            await asyncio.sleep(0)
            self.update_progress(100 * step / steps, f"step {step}")
        return steps
