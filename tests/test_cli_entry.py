"""The command line as operators start it: ``python -m jobmill``, the ``jobmill``
console script and ``bin/jobs``, in real processes, on pipes and on a terminal."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
JOBMILL = Path(sys.executable).parent / "jobmill"
ANSI = "\x1b["


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A clean environment: a fresh SQLite file, the tests' job module importable."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("JOBMILL_", "FORCE_COLOR"))}
    clean.pop("NO_COLOR", None)
    return {
        **clean,
        "JOBMILL_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "JOBMILL_IMPORTS": "cli_jobs",
        "PYTHONPATH": str(TESTS),
    }


def jobmill(env: dict[str, str], *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jobmill", *args],
        env={**env, **extra},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_no_arguments_prints_the_same_overview_as_help(env: dict[str, str]) -> None:
    bare, helped = jobmill(env), jobmill(env, "help")
    assert bare.returncode == helped.returncode == 0
    assert bare.stdout == helped.stdout
    assert "$ jobmill status 019a885b" in bare.stdout
    assert "cli-greet" in bare.stdout
    assert ANSI not in bare.stdout


def test_console_script_runs_queues_and_lists(env: dict[str, str]) -> None:
    queued = subprocess.run(
        [str(JOBMILL), "cli-greet", "--param", "name=Script", "--later"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert queued.returncode == 0, queued.stderr
    job_id = queued.stdout.strip()
    listed = json.loads(jobmill(env, "list", "--json").stdout)
    assert [(job["id"], job["status"]) for job in listed] == [(job_id, "pending")]


def test_exit_codes_of_a_real_process(env: dict[str, str]) -> None:
    missing = jobmill(env, "status", "ffffffff")
    assert (missing.returncode, missing.stdout) == (1, "")
    assert "error: no job with id or prefix 'ffffffff'" in missing.stderr
    invalid = jobmill(env, "run", "CliGreetJob", "--param", "times=x")
    assert invalid.returncode == 2
    assert "name: required" in invalid.stderr
    usage = jobmill(env, "list", "--limit", "many")
    assert usage.returncode == 2
    assert "╭" not in usage.stderr  # plain usage errors off a terminal
    broken = jobmill(env, "list", JOBMILL_LOCK_TIMEOUT="-1")
    assert broken.returncode == 2
    assert "lock_timeout (JOBMILL_LOCK_TIMEOUT)" in broken.stderr


def test_force_color_colours_a_pipe_and_no_color_wins(env: dict[str, str]) -> None:
    jobmill(env, "run", "CliGreetJob", "-p", "name=c")
    coloured = jobmill(env, "list", FORCE_COLOR="1")
    assert ANSI in coloured.stdout
    assert "completed" in coloured.stdout
    plain = jobmill(env, "list", FORCE_COLOR="1", NO_COLOR="1")
    assert ANSI not in plain.stdout


def run_on_terminal(env: dict[str, str], *args: str) -> tuple[int, str]:
    """Run with stdout and stderr on a pseudo-terminal; returns (exit code, output)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "jobmill", *args],
        env={**env, "COLUMNS": "120", "TERM": "xterm-256color"},
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    chunks = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process is done
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return process.wait(timeout=10), b"".join(chunks).decode(errors="replace")


def test_a_terminal_gets_colours_and_a_live_progress_bar(env: dict[str, str]) -> None:
    code, output = run_on_terminal(env, "run", "CliGreetJob", "-p", "name=tty", "-p", "times=3")
    assert code == 0
    assert ANSI in output
    assert "━" in output  # Rich's bar
    assert "100%" in output
    assert "hello tty, hello tty, hello tty" in output
    code, listing = run_on_terminal(env, "list")
    assert code == 0
    assert "\x1b[32mcompleted" in listing  # green


def test_no_color_makes_a_terminal_plain(env: dict[str, str]) -> None:
    jobmill(env, "run", "CliGreetJob", "-p", "name=x")
    code, output = run_on_terminal({**env, "NO_COLOR": "1"}, "list")
    assert code == 0
    assert ANSI not in output
    assert "completed" in output


def test_bin_jobs_runs_from_any_directory_with_the_repository_settings(
    env: dict[str, str], tmp_path: Path
) -> None:
    # The repository's pyproject.toml names the example's job modules; the
    # wrapper puts examples/ on the path and runs from the repository root.
    repo_env = {k: v for k, v in env.items() if k != "JOBMILL_IMPORTS"}
    result = subprocess.run(
        [str(REPO / "bin" / "jobs"), "jobs", "--json"],
        cwd=tmp_path,
        env=repo_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    names = [job["job_name"] for job in json.loads(result.stdout)]
    assert "GenerateProjectIdeasJob" in names
    missing = subprocess.run(
        [str(REPO / "bin" / "jobs"), "status", "ffffffff"],
        cwd=tmp_path,
        env=repo_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 1
