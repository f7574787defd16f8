"""Run one section in this process: ``python -m bench.child ID --mode M --out FILE``.

``ID`` is ``<peer>.<phase>`` (``huey.drain_default``) or ``<package>.<module>[:arg]``
(``limits.sqlite``, ``scale.history:postgresql``); a module's ``run(counts,
workdir[, arg])`` returns its figures.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path

from .config import counts_for
from .databases import scratch_directory
from .peers import PEERS, load_peer
from .results import Figure, write_figures
from .workload import PHASES


def run_section(section: str, mode: str, workdir: Path) -> list[Figure]:
    counts = counts_for(mode)
    name, _, phase = section.partition(".")
    for info in PEERS:
        if info.id == name:
            return PHASES[phase](load_peer(info, workdir), counts)
    module_name, _, arg = section.partition(":")
    module = importlib.import_module(f"bench.{module_name}")
    figures: list[Figure] = module.run(counts, workdir, *([arg] if arg else []))
    return figures


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.child")
    parser.add_argument("section")
    parser.add_argument("--mode", default="full")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    with scratch_directory(args.section.replace(":", "_")) as workdir:
        figures = run_section(args.section, args.mode, workdir)
    write_figures(args.out, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
