"""One measured figure, and reading and writing lists of them as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass
class Figure:
    """A value one system reached on one measure, or why it has none.

    ``key`` names the measure (``worker_default``, ``enqueue_one``, …; see
    ``report.MEASURES``), ``system`` who reached it (``jobmill``, ``huey``,
    ``raw``, …), ``detail`` how (options, statement), ``error`` why it failed.
    """

    key: str
    system: str
    backend: str
    value: float | None
    unit: str
    detail: str = ""
    error: str = ""

    @classmethod
    def failed(cls, key: str, system: str, backend: str, unit: str, error: str) -> Figure:
        return cls(key, system, backend, None, unit, error=error)


def write_figures(path: Path, figures: list[Figure]) -> None:
    path.write_text(json.dumps([asdict(f) for f in figures], indent=1) + "\n")


def read_figures(path: Path) -> list[Figure]:
    return [Figure(**item) for item in json.loads(path.read_text())]


def figures_from_json(items: list[dict[str, Any]]) -> list[Figure]:
    return [Figure(**item) for item in items]
