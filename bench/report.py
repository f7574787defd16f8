"""The run's figures as Markdown: jobmill beside each peer and the raw limits
(absolute, ÷ the best peer, ÷ the raw limit), then jobmill at scale."""

from __future__ import annotations

from dataclasses import dataclass

from .config import Counts
from .results import Figure

BACKENDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
SOAK_FIGURES = ("lost", "duplicated", "throughput")
PEER_SYSTEMS = {"sqlite": ("huey",), "postgresql": ("pgqueuer", "procrastinate", "oban")}


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    higher_is_better: bool
    raw: str  # the raw limit's key
    raw_label: str


MEASURES = (
    Measure("worker_default", "worker, default (jobs/s)", True, "raw_cycle_one",
            "claim + complete, one row per transaction"),
    Measure("worker_tuned", "worker, tuned (jobs/s)", True, "raw_cycle_batch",
            "claim + complete in batches of 100"),
    Measure("enqueue_one", "enqueue one by one (jobs/s)", True, "raw_insert_one",
            "INSERT + COMMIT"),
    Measure("enqueue_bulk", "bulk enqueue (jobs/s)", True, "raw_insert_bulk",
            "executemany (SQLite), COPY (PostgreSQL)"),
    Measure("latency_p50", "enqueue→start p50 (ms, lower is better)", False, "raw_wakeup_p50",
            "insert → claimed by a waiting process (data_version poll / LISTEN)"),
    Measure("latency_p99", "enqueue→start p99 (ms, lower is better)", False, "raw_wakeup_p99",
            "the same, p99"),
)  # fmt: skip


class Figures:
    """The run's figures, found by (key, system, backend)."""

    def __init__(self, figures: list[Figure]) -> None:
        self.all = figures
        self._index = {(f.key, f.system, f.backend): f for f in figures}

    def get(self, key: str, system: str, backend: str) -> Figure | None:
        return self._index.get((key, system, backend))

    def value(self, key: str, system: str, backend: str) -> float | None:
        figure = self.get(key, system, backend)
        return figure.value if figure else None


def number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def ratio(value: float) -> str:
    if value >= 10:
        return f"{value:,.0f}x"
    return f"{value:.2f}x" if value >= 0.01 else f"{value:.4f}x"


def cell(figure: Figure | None) -> str:
    if figure is None:
        return "not run"
    if figure.value is None:
        return "n/a" if figure.error.startswith("n/a") else "failed"
    return number(figure.value)


def backend_table(figures: Figures, backend: str, versions: dict[str, str]) -> list[str]:
    peers = PEER_SYSTEMS[backend]
    names = [f"{peer} {versions.get(peer, '')}".strip() for peer in peers]
    lines = [
        f"| measure | jobmill | {' | '.join(names)} | raw limit | jobmill ÷ best peer"
        " | jobmill ÷ raw |",
        "|---|--:|" + "--:|" * len(peers) + "--:|--:|--:|",
    ]
    for measure in MEASURES:
        ours = figures.value(measure.key, "jobmill", backend)
        theirs = {p: v for p in peers if (v := figures.value(measure.key, p, backend)) is not None}
        pick = max if measure.higher_is_better else min
        best = pick(theirs, key=theirs.__getitem__) if theirs else None
        raw = figures.value(measure.raw, "raw", backend)
        row = [
            measure.label,
            cell(figures.get(measure.key, "jobmill", backend)),
            *(cell(figures.get(measure.key, p, backend)) for p in peers),
            cell(figures.get(measure.raw, "raw", backend)),
            f"{ratio(ours / theirs[best])} ({best})" if ours and best else "",
            ratio(ours / raw) if ours and raw else "",
        ]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def how_workers_ran(figures: Figures, backend: str) -> str:
    parts = []
    for system in ("jobmill", *PEER_SYSTEMS[backend]):
        details = [
            f.detail.split(";")[0]
            for key in ("worker_default", "worker_tuned")
            if (f := figures.get(key, system, backend)) and f.detail
        ]
        if details:
            parts.append(f"{system} {' / '.join(details)}")
    return "Workers, default / tuned: " + "; ".join(parts) + "." if parts else ""


def raw_legend() -> str:
    pairs = "; ".join(f"{m.label.split(' (')[0]} ↔ {m.raw_label}" for m in MEASURES[:5])
    return f"Raw limits, the driver alone on a table shaped like jobmill's: {pairs}."


SCALE_ROWS = (
    ("memory", "worker RSS after {0:,} → {1:,} jobs (MiB, on SQLite)", "≤ +20 %"),
    ("history_claims", "claims (batches of 100), {0:,} → {1:,} finished jobs beside (rows/s)",
     "within 10 %"),
    ("history_cycles", "claim + complete one at a time, {0:,} → {1:,} finished (jobs/s)",
     "within 10 %"),
    ("processes", "worker processes on one database, 1 → {0} (total jobs/s)", "not slower"),
    ("backlog_claim", "`Store.claim_jobs` of 10 rows, {0:,} → {1:,} pending (ms)", "within 20 %"),
    ("backlog_worker", "`jobmill worker`, {0:,} → {1:,} pending (jobs/s)", "within 20 %"),
)  # fmt: skip


def scale_sizes(name: str, counts: Counts) -> tuple[int, int]:
    sizes = {
        "memory": counts.memory,
        "history_claims": counts.history,
        "history_cycles": counts.history,
        "processes": (counts.processes, 0),
        "backlog_claim": counts.backlog,
        "backlog_worker": counts.backlog,
    }
    return sizes[name]


def scale_cell(figures: Figures, name: str, backend: str) -> str:
    small = figures.get(f"{name}_small", "jobmill", backend)
    large = figures.get(f"{name}_large", "jobmill", backend)
    if small is None and large is None:
        return "—"
    if small is None or large is None or small.value is None or large.value is None:
        return "failed"
    change = large.value / small.value
    note = f"{(change - 1) * 100:+.1f} %" if name == "memory" else ratio(change)
    return f"{number(small.value)} → {number(large.value)} ({note})"


def scale_table(figures: Figures, counts: Counts) -> list[str]:
    lines = ["| measure | SQLite | PostgreSQL | target |", "|---|--:|--:|---|"]
    for name, label, target in SCALE_ROWS:
        cells = [scale_cell(figures, name, backend) for backend in BACKENDS]
        lines.append(
            f"| {label.format(*scale_sizes(name, counts))} | {' | '.join(cells)} | {target} |"
        )
    wall = figures.get("startup_wall", "jobmill", "sqlite")
    imports = figures.get("startup_import", "jobmill", "sqlite")
    if wall and imports and wall.value is not None and imports.value is not None:
        lines += [
            "",
            f"`jobmill --help` start-up: {number(wall.value)} ms wall, {number(imports.value)} ms"
            f" of imports ({imports.detail}).",
        ]
    return lines


def soak_table(figures: Figures, counts: Counts) -> list[str]:
    """``jobmill selftest --kill-workers`` on each database; none when not run."""
    rows = []
    for backend, title in BACKENDS.items():
        found = [figures.get(f"soak_{name}", "jobmill", backend) for name in SOAK_FIGURES]
        if all(figure is None for figure in found):
            continue
        values = [f.value for f in found if f is not None and f.value is not None]
        if len(values) < len(found):
            rows.append(f"| {title} | failed | | | |")
            continue
        lost, duplicated, rate = values
        detail = found[0].detail if found[0] else ""
        rows.append(f"| {title} | {lost:,.0f} | {duplicated:,.0f} | {number(rate)} | {detail} |")
    if not rows:
        return []
    return [
        "",
        f"Soak: `jobmill selftest --jobs {counts.soak} --processes {counts.soak_processes}"
        " --kill-workers` (workers SIGKILLed, or frozen with SIGSTOP past their lock, at random).",
        "",
        "| database | lost | duplicate completions | jobs/s | how |",
        "|---|--:|--:|--:|---|",
        *rows,
    ]


def notes(figures: Figures) -> list[str]:
    seen: dict[str, list[str]] = {}
    for f in figures.all:
        if f.error:
            seen.setdefault(f.error, []).append(f"{f.system} {f.key} ({BACKENDS[f.backend]})")
    return [f"- {', '.join(where)}: {error}" for error, where in seen.items()]


def busy(machine: dict[str, str]) -> str:
    """A warning when other work kept the machine's cores busy as the run began."""
    load = float(machine["load average at start"].split(",")[0])
    if load < int(machine["cores"]):
        return ""
    return " The machine was busy with other work: compare within this run, not across runs."


def render(
    figures_list: list[Figure],
    machine: dict[str, str],
    versions: dict[str, str],
    counts: Counts,
    minutes: float,
) -> str:
    figures = Figures(figures_list)
    m = machine
    mode = "Full run" if counts.mode == "full" else "Quick run (smaller counts)"
    lines = [
        "# jobmill benchmarks",
        "",
        f"Commit `{m['commit']}`, {m['date']}. {m['cpu']}, {m['cores']} cores, {m['os']};"
        f" Python {m['python']}, SQLite {m['sqlite']}, PostgreSQL {m['postgresql']}."
        f" {mode}, {minutes:.0f} min; load average at start {m['load average at start']}."
        + busy(m),
        "",
        f"The workload of SPEC §10: a no-op job taking a small int; {counts.single:,} single"
        f" enqueues; {counts.bulk:,} in one bulk call; one worker process draining"
        f" {counts.drain:,} queued jobs; {counts.latency} jobs enqueued"
        f" {counts.latency_interval * 1e3:.0f} ms apart to an idle worker in another process.",
    ]
    for backend, title in BACKENDS.items():
        lines += ["", f"## {title}", "", *backend_table(figures, backend, versions)]
        how = how_workers_ran(figures, backend)
        lines += ["", how] if how else []
    lines += ["", raw_legend(), "", "## jobmill at scale", "", *scale_table(figures, counts)]
    lines += soak_table(figures, counts)
    if failures := notes(figures):
        lines += ["", "## Not measured", "", *failures]
    return "\n".join(lines) + "\n"
