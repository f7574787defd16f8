"""``jobmill --help`` start-up: wall time (median of ``startup_runs``, after one
warm-up), and the import time ``python -X importtime`` adds up, with the
heaviest top-level imports."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..config import Counts
from ..processes import script
from ..results import Figure


def run(counts: Counts, workdir: Path, backend: str = "sqlite") -> list[Figure]:
    walls, totals = [], []
    heaviest: list[tuple[int, str]] = []
    with tempfile.TemporaryDirectory() as empty:  # no pyproject.toml to read
        for attempt in range(counts.startup_runs + 1):
            start = time.perf_counter()
            subprocess.run(
                [script("jobmill"), "--help"], cwd=empty, check=True, capture_output=True
            )
            wall = (time.perf_counter() - start) * 1e3
            total, heaviest = import_times(empty)
            if attempt:
                walls.append(wall)
                totals.append(total)
    top = ", ".join(f"{name} {us / 1e3:.0f}" for us, name in heaviest[:3])
    return [
        Figure(
            "startup_wall", "jobmill", backend, statistics.median(walls), "ms", "jobmill --help"
        ),
        Figure(
            "startup_import",
            "jobmill",
            backend,
            statistics.median(totals),
            "ms",
            f"-X importtime, heaviest: {top} ms",
        ),
    ]


def import_times(cwd: str) -> tuple[float, list[tuple[int, str]]]:
    """Total import time (ms), and the third-party packages jobmill pulls in by
    their cumulative import time (µs, the slowest import of each), heaviest first."""
    command = [sys.executable, "-X", "importtime", "-m", "jobmill", "--help"]
    stderr = subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True).stderr
    total, packages = 0, dict[str, int]()
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        own, cumulative, name = (part.strip() for part in line[12:].split("|"))
        total += int(own)
        package = name.split(".")[0]
        if package != "jobmill" and package.lstrip("_") not in sys.stdlib_module_names:
            packages[package] = max(packages.get(package, 0), int(cumulative))
    return total / 1e3, sorted(((us, name) for name, us in packages.items()), reverse=True)
