"""The documentation site builds with warnings as errors: every page in the
nav exists, every link and API reference resolves, every included example
file and section exists, and the CLI reference renders from the program."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_site_builds_strictly_with_the_generated_pages(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBMILL_")}
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        env={**env, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stderr
    cli = (tmp_path / "reference" / "cli" / "index.html").read_text()
    for command in ("jobmill worker", "jobmill cron add", "jobmill db upgrade", "--burst"):
        assert command in cli
    assert "generate-projects" not in cli  # the example application's command is not jobmill's
    lifecycle = (tmp_path / "lifecycle" / "index.html").read_text()
    assert "stateDiagram-v2" in lifecycle and "record_outcomes" in lifecycle
    api = (tmp_path / "reference" / "api" / "index.html").read_text()
    assert "execute_from_database" in api and "drain" in api
    for recipe, job in (("fastapi", "SendReceiptJob"), ("django", "SendConfirmationEmailJob")):
        page = (tmp_path / recipe / "index.html").read_text()
        assert job in page  # the example's code, included from examples/
        assert "[start:" not in page and "[end:" not in page
