"""Worker processes: start one as it is deployed, wait on it, read its memory, stop it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from .config import REPOSITORY


def script(name: str) -> str:
    """A console script of the running virtualenv (``jobmill``, ``huey_consumer``…)."""
    return str(Path(sys.executable).with_name(name))


def worker_env(extra: dict[str, str]) -> dict[str, str]:
    """This environment, the repository importable (for ``bench.*`` job modules), plus ``extra``."""
    path = os.pathsep.join(p for p in (str(REPOSITORY), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


@contextlib.contextmanager
def running(
    command: list[str], env: dict[str, str], workdir: Path, log: Path, stop_signal: int
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` in ``workdir`` (output to ``log``) until the block ends.

    It runs in an empty directory, so no ``pyproject.toml`` there configures it.
    """
    with log.open("ab") as out:
        proc = subprocess.Popen(command, env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        stop(proc, stop_signal)


def stop(proc: subprocess.Popen[bytes], stop_signal: int, grace: float = 30.0) -> None:
    """Ask ``proc`` to stop with ``stop_signal``; kill it after ``grace`` seconds."""
    if proc.poll() is not None:
        return
    proc.send_signal(stop_signal)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_until(
    condition: Callable[[], bool],
    timeout: float,
    what: str,
    proc: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
    poll: float = 0.02,
) -> None:
    """Return once ``condition()`` holds; raise if ``timeout`` passes or ``proc`` exits."""
    deadline = time.monotonic() + timeout
    while not condition():
        check(what, deadline, proc, log)
        time.sleep(poll)


def check(
    what: str, deadline: float, proc: subprocess.Popen[bytes] | None, log: Path | None
) -> None:
    """Raise if ``proc`` has exited or the ``deadline`` (monotonic) has passed."""
    if proc is not None and proc.poll() is not None:
        raise RuntimeError(f"{what}: worker exited with status {proc.returncode} {tail(log)}")
    if time.monotonic() > deadline:
        raise TimeoutError(f"{what}: not done in time {tail(log)}".strip())


def tail(log: Path | None, lines: int = 3) -> str:
    """The last lines of a worker's log, for an error message."""
    if log is None or not log.exists():
        return ""
    text = log.read_text(errors="replace").strip().splitlines()[-lines:]
    return "(log: " + " | ".join(line.strip()[:200] for line in text) + ")"


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid``, in MiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


STOP = signal.SIGTERM
