"""``jobmill worker`` options: clear usage errors (exit 2) before anything runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jobmill.cli import load_commands
from jobmill.store import Store


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--processes", "0"], "--processes must be >= 1, got 0"),
        (["--concurrency", "0"], "concurrency must be an integer >= 1, got 0"),
        (["--queues", "mail,,sms"], "queues must be non-empty queue names"),
        (["--grace-period", "-1"], "grace_period must be a number of seconds >= 0, got -1"),
        (["--log-level", "loud"], "--log-level must be one of debug, info, warning, error"),
    ],
)
def test_invalid_options_exit_2_naming_the_option(
    sqlite_configured: Store, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(load_commands(), ["worker", *args])

    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert sqlite_configured.list_workers() == []


def test_a_worker_with_no_job_modules_exits_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBMILL_")}
    env["JOBMILL_DATABASE_URL"] = f"sqlite:///{tmp_path / 'jobs.db'}"

    result = subprocess.run(
        [sys.executable, "-m", "jobmill", "worker", "--burst"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 2
    assert "no jobs are registered" in result.stderr
    assert "--import MODULE" in result.stderr


def test_an_unimportable_job_module_exits_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBMILL_")}
    env["JOBMILL_DATABASE_URL"] = f"sqlite:///{tmp_path / 'jobs.db'}"

    result = subprocess.run(
        [sys.executable, "-m", "jobmill", "worker", "--import", "no_such_jobs_module"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 2
    assert "no_such_jobs_module" in result.stderr
