"""The throughput chart's geometry: stacked bars (completed, failed) per interval,
drawn as inline SVG by the template. Pure: no I/O, no clock."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from jobmill.store.stats import ThroughputBucket

WIDTH, HEIGHT = 720, 200
LEFT, BOTTOM, TOP = 40, 20, 8
X_LABELS = 6


@dataclass(frozen=True)
class Window:
    """A time span shown as ``buckets`` bars of ``step`` each."""

    name: str
    step: timedelta
    buckets: int
    label_format: str


WINDOWS = {
    window.name: window
    for window in (
        Window("1h", timedelta(minutes=1), 60, "%H:%M"),
        Window("24h", timedelta(hours=1), 24, "%H:%M"),
        Window("7d", timedelta(hours=6), 28, "%a %H:%M"),
    )
}


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    completed_y: float
    completed_height: float
    failed_y: float
    failed_height: float
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot_left: int
    plot_bottom: int
    bars: list[Bar]
    y_ticks: list[tuple[float, int]]
    x_labels: list[tuple[float, str]]
    completed: int
    failed: int


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... that is at least ``value`` (and 1 for 0)."""
    if value <= 1:
        return 1
    magnitude = int(10 ** math.floor(math.log10(value)))
    for factor in (1, 2, 5):
        if factor * magnitude >= value:
            return factor * magnitude
    return 10 * magnitude


def throughput_chart(buckets: Sequence[ThroughputBucket], window: Window) -> Chart:
    """Bars scaled to the busiest interval, with y ticks and a few time labels."""
    top = nice_ceiling(max((b.completed + b.failed for b in buckets), default=0))
    plot_height = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT) / max(1, len(buckets))
    scale = plot_height / top
    bottom = HEIGHT - BOTTOM
    bars = []
    for index, bucket in enumerate(buckets):
        completed_height = bucket.completed * scale
        failed_height = bucket.failed * scale
        bars.append(
            Bar(
                x=LEFT + index * slot + slot * 0.1,
                width=slot * 0.8,
                completed_y=bottom - completed_height,
                completed_height=completed_height,
                failed_y=bottom - completed_height - failed_height,
                failed_height=failed_height,
                title=f"{bucket.start:%Y-%m-%d %H:%M} UTC: "
                f"{bucket.completed} completed, {bucket.failed} failed",
            )
        )
    every = max(1, len(buckets) // X_LABELS)
    x_labels = [
        (LEFT + index * slot, f"{bucket.start:{window.label_format}}")
        for index, bucket in enumerate(buckets)
        if index % every == 0
    ]
    values = [0, top // 2, top] if top % 2 == 0 else [0, top]
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        plot_left=LEFT,
        plot_bottom=bottom,
        bars=bars,
        y_ticks=[(bottom - plot_height * value / top, value) for value in values],
        x_labels=x_labels,
        completed=sum(b.completed for b in buckets),
        failed=sum(b.failed for b in buckets),
    )
