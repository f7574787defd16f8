"""Copy the tables of ``bench/results/latest.md`` (a full run) into the README,
between its ``<!-- bench:begin -->`` and ``<!-- bench:end -->`` markers:
``make bench-readme`` (``python -m bench.readme``); ``make bench-readme
FROM=bench/results/partial.md`` takes another report. Standard library only."""

from __future__ import annotations

import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
LATEST = REPOSITORY / "bench" / "results" / "latest.md"
README = REPOSITORY / "README.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def readme_block(latest: str) -> str:
    """latest.md without its title, its headings one level down (under the README's)."""
    lines = latest.strip().splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    body = ["#" + line if line.startswith("## ") else line for line in lines]
    return "\n".join(body).strip()


def updated(readme: str, block: str) -> str:
    if BEGIN not in readme or END not in readme:
        raise ValueError(f"README.md has no {BEGIN} … {END} markers")
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{block}\n{END}{tail}"


def main() -> int:
    report = Path(sys.argv[1]) if len(sys.argv) > 1 else LATEST
    if not report.exists():
        print(f"{report} does not exist: run `make bench` first", file=sys.stderr)
        return 1
    try:
        README.write_text(updated(README.read_text(), readme_block(report.read_text())))
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"README.md: benchmark tables from {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
