"""Every section of a run, in order, and the figures each one reports.

A section runs in a process of its own (``python -m bench.child ID``), so one
that fails or hangs — a peer that does not install, a changed API — is
reported as failed and the rest of the run goes on.
"""

from __future__ import annotations

from dataclasses import dataclass

from .peers import PEERS
from .workload import PHASE_FIGURES

SQLITE, POSTGRES = "sqlite", "postgresql"


@dataclass(frozen=True)
class Section:
    id: str  # "huey.drain_default", "limits.sqlite", "scale.memory:sqlite"
    backend: str
    package: str  # the distribution it needs installed ("" for none beyond the bench)
    figures: tuple[tuple[str, str, str], ...]  # (key, system, unit) it reports

    def failed_figures(self, error: str) -> list[dict[str, object]]:
        return [
            {
                "key": key,
                "system": system,
                "backend": self.backend,
                "value": None,
                "unit": unit,
                "error": error,
            }
            for key, system, unit in self.figures
        ]


def _peer_sections() -> list[Section]:
    return [
        Section(
            f"{peer.id}.{phase}",
            peer.backend,
            peer.package,
            tuple((key, peer.system, unit) for key, unit in figures),
        )
        for peer in PEERS
        for phase, figures in PHASE_FIGURES.items()
    ]


RAW_RATES = ("raw_insert_one", "raw_insert_bulk", "raw_cycle_one", "raw_cycle_batch")


def _limit_sections() -> list[Section]:
    return [
        Section(
            f"limits.{backend}",
            backend,
            "",
            (
                *((key, "raw", "jobs/s") for key in RAW_RATES),
                ("raw_wakeup_p50", "raw", "ms"),
                ("raw_wakeup_p99", "raw", "ms"),
            ),
        )
        for backend in (SQLITE, POSTGRES)
    ]


def _pair(name: str, unit: str) -> tuple[tuple[str, str, str], ...]:
    return ((f"{name}_small", "jobmill", unit), (f"{name}_large", "jobmill", unit))


def _scale_sections() -> list[Section]:
    sections = [Section("scale.memory:sqlite", SQLITE, "jobmill", _pair("memory", "MiB"))]
    for backend in (SQLITE, POSTGRES):
        sections += [
            Section(
                f"scale.history:{backend}",
                backend,
                "jobmill",
                _pair("history_claims", "rows/s") + _pair("history_cycles", "jobs/s"),
            ),
            Section(f"scale.processes:{backend}", backend, "jobmill", _pair("processes", "jobs/s")),
            Section(
                f"scale.backlog:{backend}",
                backend,
                "jobmill",
                _pair("backlog_claim", "ms") + _pair("backlog_worker", "jobs/s"),
            ),
        ]
    sections.append(
        Section(
            "scale.startup:sqlite",
            SQLITE,
            "jobmill",
            (("startup_wall", "jobmill", "ms"), ("startup_import", "jobmill", "ms")),
        )
    )
    return sections


def _soak_sections() -> list[Section]:
    return [
        Section(
            f"soak:{backend}",
            backend,
            "jobmill",
            (
                ("soak_lost", "jobmill", "jobs"),
                ("soak_duplicated", "jobmill", "jobs"),
                ("soak_throughput", "jobmill", "jobs/s"),
            ),
        )
        for backend in (SQLITE, POSTGRES)
    ]


SECTIONS = _peer_sections() + _limit_sections() + _scale_sections() + _soak_sections()
