"""Run the benchmarks: ``make bench`` (``python -m bench``), ``make bench-quick``
(``--quick``: smaller counts, a few minutes), ``--only PREFIX …`` for some
sections (``--list`` shows them).

Every section runs in a process of its own (``bench.child``); one that fails
is reported as such. A full run writes ``bench/results/latest.{md,json}``, a
quick one ``quick.*``, a partial one (``--only``) ``partial.*``;
``python -m bench.readme`` copies ``latest.md``'s tables into the README.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .config import INSTALL_STATUS, REPOSITORY, RESULTS, counts_for
from .machine import describe, version_of
from .report import render
from .results import figures_from_json
from .sections import POSTGRES, SECTIONS, Section

PACKAGES = ("huey", "pgqueuer", "procrastinate", "oban")


def install_status() -> dict[str, str]:
    """Peer → "ok" or why it is not installed (written by ``bench/install.py``)."""
    if not INSTALL_STATUS.exists():
        return {}
    status: dict[str, str] = json.loads(INSTALL_STATUS.read_text())["peers"]
    return status


def skip_reason(section: Section, status: dict[str, str], postgres: str) -> str | None:
    if section.backend == POSTGRES and postgres == "unreachable":
        return "PostgreSQL is not reachable"
    state = status.get(section.package, "ok")
    return None if state == "ok" else state


def run_child(section: Section, mode: str, timeout: float) -> list[dict[str, Any]]:
    """The section's figures, from a process of its own (and its workers), killed
    with them after ``timeout`` seconds; a failure becomes failed figures."""
    with tempfile.TemporaryDirectory() as tmp:
        out, log = Path(tmp) / "figures.json", Path(tmp) / "child.log"
        command = [
            sys.executable,
            "-m",
            "bench.child",
            section.id,
            "--mode",
            mode,
            "--out",
            str(out),
        ]
        with log.open("wb") as sink:
            proc = subprocess.Popen(
                command,
                cwd=REPOSITORY,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return section.failed_figures(f"gave up after {timeout:.0f} s")
        text = log.read_text(errors="replace")
        if text.strip():
            print("    " + text.strip().replace("\n", "\n    "), flush=True)
        if proc.returncode != 0 or not out.exists():
            last = text.strip().splitlines()[-1] if text.strip() else f"exit {proc.returncode}"
            return section.failed_figures(last[:300])
        figures: list[dict[str, Any]] = json.loads(out.read_text())
        return figures


def selected(only: list[str]) -> list[Section]:
    return [s for s in SECTIONS if not only or any(s.id.startswith(p) for p in only)]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts, a few minutes")
    parser.add_argument("--only", nargs="+", default=[], metavar="PREFIX", help="some sections")
    parser.add_argument("--list", action="store_true", help="list the sections and exit")
    args = parser.parse_args(argv)
    sections = selected(args.only)
    if args.list or not sections:
        print("\n".join(s.id for s in SECTIONS))
        return 0 if args.list else 2
    counts = counts_for("quick" if args.quick else "full")
    machine, status = describe(), install_status()
    started = time.monotonic()
    items: list[dict[str, Any]] = []
    for number, section in enumerate(sections, 1):
        print(f"[{number}/{len(sections)}] {section.id}", flush=True)
        began = time.monotonic()
        reason = skip_reason(section, status, machine["postgresql"])
        found = (
            section.failed_figures(reason)
            if reason
            else run_child(section, counts.mode, counts.section_timeout)
        )
        items += found
        for item in found:
            shown = (
                f"{item['value']:,.2f} {item['unit']}"
                if item["value"] is not None
                else item["error"]
            )
            print(f"    {item['system']:<14} {item['key']:<22} {shown}", flush=True)
        print(f"    ({time.monotonic() - began:.0f} s)", flush=True)
    minutes = (time.monotonic() - started) / 60
    versions = {p: v for p in PACKAGES if (v := version_of(p))}
    name = "partial" if args.only else ("latest" if counts.mode == "full" else "quick")
    markdown = render(figures_from_json(items), machine, versions, counts, minutes)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.md").write_text(markdown)
    document = {"machine": machine, "mode": counts.mode, "minutes": round(minutes, 1),
                "versions": versions, "install": status, "figures": items}  # fmt: skip
    (RESULTS / f"{name}.json").write_text(json.dumps(document, indent=1) + "\n")
    print("\n" + markdown + f"\nwritten to {RESULTS / name}.md and .json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
