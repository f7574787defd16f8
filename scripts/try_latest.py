"""Try jobmill against the newest releases its requirement ranges allow; report.

``make test`` runs against ``requirements/lock.txt``, so a new release of a
dependency cannot break it overnight. This script (``make latest``, and a
step of CI) shows what such a release would do before the lock is moved:
it installs the project with every extra into ``.venv-latest`` with no
constraints, lists each package whose newest release differs from the lock,
then runs mypy, the docs build and the test suite there. It always exits 0:
the report is the result. ``LATEST_PYTEST_ARGS`` replaces pytest's arguments.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "lock.txt"
VENV = ROOT / ".venv-latest"
EXTRAS = "postgres,libsql,examples,docs,dev"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)")


def main() -> int:
    started = time.monotonic()
    print(f"== newest releases, in {VENV.name} (the lock is {LOCK.relative_to(ROOT)})")
    if not install():
        print("== result: the newest releases do not install (see above); the lock stays")
        return 0
    changed = report_versions()
    outcomes = {
        "mypy": step(["mypy"]),
        "docs": step(["mkdocs", "build", "--strict", "--site-dir", tempfile.mkdtemp()]),
        "tests": step(["pytest", *shlex.split(os.environ.get("LATEST_PYTEST_ARGS", "-q"))]),
    }
    summary = ", ".join(f"{name} {'passed' if ok else 'FAILED'}" for name, ok in outcomes.items())
    if all(outcomes.values()):
        verdict = "`make lock` can move" if changed else "the lock is the newest"
    elif changed:
        verdict = "keep the lock until fixed"
    else:
        verdict = "nothing newer than the lock: not a new release's doing"
    print(f"== result: {summary} ({verdict}; {time.monotonic() - started:.0f} s)")
    return 0


def install() -> bool:
    shutil.rmtree(VENV, ignore_errors=True)
    python = sys.executable
    steps = [
        [python, "-m", "venv", str(VENV)],
        [str(VENV / "bin/pip"), "install", "--quiet", "--upgrade", "pip"],
        [str(VENV / "bin/pip"), "install", "--quiet", "--upgrade", "--upgrade-strategy",
         "eager", "-e", f"{ROOT}[{EXTRAS}]"],
    ]  # fmt: skip
    for command in steps:
        result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        if result.returncode != 0:
            print(f"`{shlex.join(command)}` exited {result.returncode}:\n{result.stderr.strip()}")
            return False
    return True


def report_versions() -> int:
    """Print each package whose installed (newest) version differs from the lock;
    returns how many."""
    locked = {}
    for line in LOCK.read_text().splitlines():
        if match := PIN.match(line):
            locked[normalize(match[1])] = match[2]
    listing = subprocess.run(
        [str(VENV / "bin/pip"), "list", "--format=json"], capture_output=True, text=True
    )
    newest = {normalize(p["name"]): p["version"] for p in json.loads(listing.stdout)}
    changed = [
        f"  {name} {locked.get(name, '(not in the lock)')} -> {version}"
        for name, version in sorted(newest.items())
        if name not in {"jobmill", "setuptools"} and locked.get(name) != version
    ]
    print(f"== {len(changed)} package(s) differ from the lock:" if changed else "== as locked")
    print("\n".join(changed))
    return len(changed)


def step(command: list[str]) -> bool:
    print(f"== {shlex.join(command)}", flush=True)
    command[0] = str(VENV / "bin" / command[0])
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(command, cwd=ROOT, env=env).returncode == 0


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


if __name__ == "__main__":
    sys.exit(main())
