"""Jobs and helpers shared by the dashboard tests."""

from __future__ import annotations

import re
import threading

from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.testclient import TestClient

from jobmill import Job

LOOPBACK_CLIENT = ("127.0.0.1", 50000)


class DashboardEchoParams(BaseModel):
    text: str
    count: int = 1


class DashboardEchoJob(Job[DashboardEchoParams, dict]):
    max_attempts = 2

    def perform(self, params: DashboardEchoParams) -> dict:
        self.update_progress(50, f"echoing {params.text}")
        return {"echo": params.text * params.count}


class DashboardFailJob(Job[DashboardEchoParams, None]):
    max_attempts = 1

    def perform(self, params: DashboardEchoParams) -> None:
        raise ValueError(f"cannot handle {params.text}")


# The stepped job waits at each gate, so a test decides when its progress moves.
GATES = [threading.Event() for _ in range(3)]


class DashboardSteppedJob(Job[None, dict]):
    max_attempts = 1

    def perform(self, params: None) -> dict:
        for step, gate in enumerate(GATES, start=1):
            self.update_progress(step * 25, f"step {step} of {len(GATES) + 1}")
            if not gate.wait(timeout=60):
                raise TimeoutError(f"gate {step} was never opened")
        return {"steps": len(GATES) + 1}


def client_for(app: Starlette, **kwargs: object) -> TestClient:
    """A test client that connects from a loopback address."""
    return TestClient(app, client=LOOPBACK_CLIENT, **kwargs)


def csrf_token(client: TestClient, path: str = "/jobs") -> str:
    """The CSRF token a page hands its forms (the client keeps the cookie)."""
    page = client.get(path)
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    if match is None:
        match = re.search(r'"X-CSRF-Token": "([0-9a-f]+)"', page.text)
    assert match is not None, f"no CSRF token on {path}"
    return match.group(1)
