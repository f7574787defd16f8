"""Run every benchmark: ``make bench``. SQLite always; PostgreSQL when reachable.

Each ``bench/bench_*.py`` module exposes ``run(report, backends)``. Results
are printed and written to ``bench/results/latest.md``.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import sys
from pathlib import Path

from .report import PG_URL, Report, postgres_reachable


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING)
    wanted = set(argv)
    backends = ["sqlite"]
    if postgres_reachable():
        backends.append("postgresql")
    else:
        print(f"PostgreSQL at {PG_URL} is not reachable: SQLite only", file=sys.stderr)
    report = Report()
    package = Path(__file__).parent
    for module_info in sorted(pkgutil.iter_modules([str(package)]), key=lambda m: m.name):
        name = module_info.name
        if not name.startswith("bench_") or (wanted and name not in wanted):
            continue
        module = importlib.import_module(f"bench.{name}")
        module.run(report, backends)
    out = package / "results" / "latest.md"
    report.save(out)
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
