"""Create bench/.venv for ``make bench``: jobmill from this repository (editable,
with its PostgreSQL extra, within requirements/lock.txt), then each peer of
bench/requirements.txt on its own.

Runs on any Python 3 (standard library only). The venv uses the newest
Python >= 3.12 it finds (oban needs it): ``$BENCH_PYTHON``, ``python3.13``,
``python3.12`` on PATH, then pyenv's versions; else the Python running this,
and peers that need more are reported as not installed. What installed and
what did not is written to bench/.venv/install-status.json.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
VENV = BENCH / ".venv"
PYTHON = VENV / "bin" / "python"
HEADER = re.compile(r"#\s*peer:\s*(\S+)(?:\s+python>=(\d+)\.(\d+))?")


def version_of(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return None
    return int(out[0]), int(out[1])


def find_python() -> str:
    pyenv = os.path.expanduser("~/.pyenv/versions")
    candidates = [
        os.environ.get("BENCH_PYTHON", ""),
        shutil.which("python3.13") or "",
        shutil.which("python3.12") or "",
        *sorted(glob.glob(f"{pyenv}/3.1[3-9]*/bin/python"), reverse=True),
        *sorted(glob.glob(f"{pyenv}/3.12*/bin/python"), reverse=True),
    ]
    for candidate in filter(None, candidates):
        found = version_of(candidate)
        if found and found >= (3, 12):
            return candidate
    return sys.executable


def peers(requirements: Path) -> list[tuple[str, tuple[int, int], list[str]]]:
    """(name, minimum Python, requirement lines) for each peer block."""
    blocks: list[tuple[str, tuple[int, int], list[str]]] = []
    for line in requirements.read_text().splitlines():
        if header := HEADER.match(line.strip()):
            name, major, minor = header.groups()
            blocks.append((name, (int(major or 3), int(minor or 0)), []))
        elif line.strip() and not line.startswith("#") and blocks:
            blocks[-1][2].append(line.strip())
    return blocks


def pip(*args: str) -> subprocess.CompletedProcess[str]:
    command = [str(PYTHON), "-m", "pip", "install", "--quiet", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def main() -> int:
    python = find_python()
    version = version_of(python) or (0, 0)
    if VENV.exists() and version_of(str(PYTHON)) != version:
        shutil.rmtree(VENV)
    if not PYTHON.exists():
        subprocess.run([python, "-m", "venv", str(VENV)], check=True)
    print(f"bench/.venv: Python {version[0]}.{version[1]} ({python})", flush=True)
    pip("--upgrade", "pip")
    # jobmill with the releases its suite runs against, where they are locked.
    lock = BENCH.parent / "requirements" / "lock.txt"
    done = pip(
        *(["--constraint", str(lock)] if lock.exists() else []), "-e", f"{BENCH.parent}[postgres]"
    )
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        return 1
    status = {}
    for name, minimum, lines in peers(BENCH / "requirements.txt"):
        if version < minimum:
            status[name] = f"not installed: needs Python >= {minimum[0]}.{minimum[1]}, none found"
        else:
            done = pip(*lines)
            errors = [line for line in done.stderr.splitlines() if "ERROR" in line]
            why = errors[-1] if errors else f"pip exited {done.returncode}"
            status[name] = "ok" if done.returncode == 0 else f"failed to install: {why}"
        print(f"  {name}: {status[name]}", flush=True)
    document = {"python": f"{version[0]}.{version[1]}", "peers": status}
    (VENV / "install-status.json").write_text(json.dumps(document, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
