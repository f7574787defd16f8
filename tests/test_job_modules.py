"""Every command finds job modules the same way: the ``imports`` of a ``jobmill.toml``
(or ``pyproject.toml``) in the working directory, which is importable as with
``python -m``; a module that fails to import is one line and exit 2."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

JOB_MODULE = """
from jobmill import Job

class ModuleLookupJob(Job[None, str]):
    def perform(self, params: None) -> str:
        return "found"
"""


def project(tmp_path: Path, module: str = "lookup_jobs", source: str = JOB_MODULE) -> Path:
    """A directory like an application's: a job module and a jobmill.toml naming it."""
    (tmp_path / f"{module}.py").write_text(source)
    (tmp_path / "jobmill.toml").write_text(
        f'imports = ["{module}"]\ndatabase_url = "sqlite:///{tmp_path / "jobs.db"}"\n'
    )
    return tmp_path


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBMILL_")}
    return {**env, "NO_COLOR": "1", "PYTHONPATH": ""}


# The console script, as installed: unlike ``python -m``, it does not put the
# working directory on sys.path by itself.
JOBMILL = str(Path(sys.executable).with_name("jobmill"))


def jobmill(cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [JOBMILL, *args],
        cwd=cwd,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_dashboard_imports_the_modules_of_jobmill_toml(tmp_path: Path) -> None:
    cwd = project(tmp_path)
    port = free_port()
    process = subprocess.Popen(
        [JOBMILL, "dashboard", "--port", str(port)],
        cwd=cwd,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()[0]
                assert time.monotonic() < deadline, "the dashboard did not start"
                time.sleep(0.1)
        assert health.text == "ok"
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert "ImportError" not in output and "Traceback" not in output


def test_the_worker_and_the_dashboard_app_find_the_same_modules(tmp_path: Path) -> None:
    cwd = project(tmp_path)
    assert jobmill(cwd, "run", "ModuleLookupJob", "--later").returncode == 0
    worker = jobmill(cwd, "worker", "--burst", "--no-scheduler")
    assert worker.returncode == 0, worker.stderr
    listing = jobmill(cwd, "list")
    assert "ModuleLookupJob  completed" in listing.stdout
    elsewhere = tmp_path / "elsewhere"  # a script's own directory is on sys.path
    elsewhere.mkdir()
    script = elsewhere / "serve.py"
    script.write_text("from jobmill.dashboard import create_app\ncreate_app()\n")
    app = subprocess.run(
        [sys.executable, str(script)],
        cwd=cwd,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert app.returncode == 0, app.stderr


BROKEN_MODULES = {
    "missing": (None, "No module named 'missing_jobs'"),
    "syntax": ("def broken(:\n", "SyntaxError: invalid syntax ("),
    "raises": ("raise RuntimeError('no database here')\n", "RuntimeError: no database here"),
}


@pytest.mark.parametrize("kind", list(BROKEN_MODULES))
@pytest.mark.parametrize(
    "command",
    [["dashboard", "--port", "0"], ["worker", "--burst"], ["scheduler"], ["jobs"], ["run", "X"]],
    ids=lambda command: command[0],
)
def test_a_job_module_that_fails_to_import_is_one_line_and_exit_2(
    tmp_path: Path, kind: str, command: list[str]
) -> None:
    source, reason = BROKEN_MODULES[kind]
    cwd = project(tmp_path, "missing_jobs" if source is None else "broken_jobs", source or "")
    if source is None:
        (cwd / "missing_jobs.py").unlink()
    name = "missing_jobs" if source is None else "broken_jobs"

    result = jobmill(cwd, *command)

    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(
        f"error: could not import job module {name!r} (from the `imports` setting): "
    )
    assert reason in line
