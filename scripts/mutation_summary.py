"""Summarise the last ``make mutation`` run: figures, then each mutant left alive.

Reads the results mutmut keeps beside each mutated module
(``mutants/src/**/*.py.meta``) for the modules named on the command line
(all of them when none is named). A surviving mutant is a change to the code
that no test noticed; ``.venv/bin/mutmut show NAME`` prints its diff.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants" / "src"
# mutmut's meaning of the exit code of a mutant's test run.
KILLED = {1, 3}
SURVIVED = {0}
NO_TESTS = {5, 33}
TIMEOUT = {36, 24, -24, 152, 255}
LISTED = ("survived", "timeout", "suspicious")


def status_of(exit_code: int | None) -> str:
    """The verdict mutmut gives a mutant whose tests ended with ``exit_code``."""
    if exit_code is None:
        return "not checked"
    for status, codes in (
        ("killed", KILLED),
        ("survived", SURVIVED),
        ("no tests", NO_TESTS),
        ("timeout", TIMEOUT),
    ):
        if exit_code in codes:
            return status
    return "suspicious"


def results(modules: list[str]) -> dict[str, str]:
    """Each mutant's name and verdict, for the modules named (or all)."""
    verdicts: dict[str, str] = {}
    for meta in sorted(MUTANTS.rglob("*.py.meta")):
        module = ".".join(meta.relative_to(MUTANTS).with_suffix("").with_suffix("").parts)
        if modules and module not in modules:
            continue
        exit_codes = json.loads(meta.read_text())["exit_code_by_key"]
        verdicts.update({name: status_of(code) for name, code in exit_codes.items()})
    return verdicts


def main(modules: list[str]) -> int:
    if not MUTANTS.is_dir():
        sys.exit("no mutation results: run make mutation first")
    verdicts = results(modules)
    counts = Counter(verdicts.values())
    figures = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
    print(f"{len(verdicts)} mutants: {figures}")
    for status in LISTED:
        names = sorted(name for name, verdict in verdicts.items() if verdict == status)
        if names:
            print(f"\n{status} ({len(names)}; mutmut show NAME prints one):")
            print("\n".join(f"  {name}" for name in names))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
