"""A small report every benchmark writes to: figures and their ratio to a baseline.

Machines here are noisy, so every figure is given next to a baseline measured
in the same run, and the ratio is what to compare across runs.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy

PG_URL = os.environ.get("JOBMILL_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@dataclass
class Row:
    name: str
    value: float
    unit: str
    note: str = ""


@dataclass
class Report:
    """Collects sections of rows and renders them as Markdown."""

    sections: dict[str, list[Row]] = field(default_factory=dict)
    _current: str = "general"

    def section(self, title: str) -> None:
        self._current = title
        self.sections.setdefault(title, [])
        print(f"\n## {title}", flush=True)

    def row(self, name: str, value: float, unit: str, note: str = "") -> None:
        self.sections.setdefault(self._current, []).append(Row(name, value, unit, note))
        print(f"  {name:<58} {value:>12,.1f} {unit:<10} {note}", flush=True)

    def markdown(self) -> str:
        lines = [
            "# jobmill benchmarks",
            "",
            f"Python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, "
            f"{os.cpu_count()} CPUs. Compare the ratios, not the absolute figures.",
        ]
        for title, rows in self.sections.items():
            lines += [
                "",
                f"## {title}",
                "",
                "| measure | value | unit | note |",
                "|---|---:|---|---|",
            ]
            lines += [f"| {r.name} | {r.value:,.1f} | {r.unit} | {r.note} |" for r in rows]
        return "\n".join(lines) + "\n"

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.markdown())


@contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    """``with stopwatch() as elapsed: ...; elapsed()`` gives seconds."""
    start = time.perf_counter()
    end: list[float] = []
    try:
        yield lambda: (end[0] if end else time.perf_counter()) - start
    finally:
        end.append(time.perf_counter())


def postgres_reachable() -> bool:
    try:
        engine = sqlalchemy.create_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("SELECT 1"))
        engine.dispose()
    except Exception:
        return False
    return True
