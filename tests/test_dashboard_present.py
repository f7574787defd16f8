"""Pure presentation helpers: durations, relative times, notices, paging, the chart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jobmill.dashboard.chart import WINDOWS, nice_ceiling, throughput_chart
from jobmill.dashboard.present import (
    notices,
    parse_page,
    query_string,
    relative_time,
    without_notices,
)
from jobmill.humanize import format_duration
from jobmill.store.stats import ThroughputBucket

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, ""),
        (0.25, "250 ms"),
        (12.34, "12.3 s"),
        (245, "4m 05s"),
        (7380, "2h 03m"),
        (3 * 86400 + 4 * 3600, "3d 04h"),
    ],
)
def test_format_duration(seconds: float | None, text: str) -> None:
    assert format_duration(seconds, missing="") == text


def test_relative_time_says_ago_or_in() -> None:
    assert relative_time(NOW - timedelta(seconds=90), NOW) == "1m 30s ago"
    assert relative_time(NOW + timedelta(hours=2), NOW) == "in 2h 00m"
    assert relative_time(NOW, NOW) == "now"
    assert relative_time(None, NOW) == ""


def test_notices_know_only_their_own_words() -> None:
    assert notices({"retried": "2", "skipped": "1"}) == [
        "Retried 2 jobs.",
        "Skipped 1 job that could not be retried (no longer failed or gone).",
    ]
    assert notices({"discarded": "1"}) == [
        "Discarded 1 failed job; it stays in the history as cancelled."
    ]
    assert notices({"retried": "<b>", "message": "Your account is locked"}) == []
    assert without_notices({"retried": "2", "status": "failed"}) == {"status": "failed"}


def test_paging_parameters() -> None:
    assert parse_page(None) == 1
    assert parse_page("3") == 3
    assert parse_page("-4") == 1
    assert parse_page("x") == 1
    assert query_string({"status": "failed", "q": ""}, page=2) == "?status=failed&page=2"
    assert query_string({}) == ""


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0, 1), (1, 1), (2, 2), (3, 5), (7, 10), (11, 20), (480, 500)]
)
def test_nice_ceiling(value: int, ceiling: int) -> None:
    assert nice_ceiling(value) == ceiling


def test_throughput_chart_scales_to_the_busiest_interval() -> None:
    window = WINDOWS["1h"]
    buckets = [
        ThroughputBucket(NOW - timedelta(minutes=3), completed=8, failed=2),
        ThroughputBucket(NOW - timedelta(minutes=2)),
        ThroughputBucket(NOW - timedelta(minutes=1), completed=5),
    ]
    chart = throughput_chart(buckets, window)
    busiest, empty, half = chart.bars
    assert busiest.completed_height + busiest.failed_height == pytest.approx(
        chart.plot_bottom - chart.y_ticks[-1][0]
    )
    assert busiest.failed_y + busiest.failed_height == pytest.approx(busiest.completed_y)
    assert half.completed_height == pytest.approx(busiest.completed_height * 5 / 8)
    assert empty.completed_height == empty.failed_height == 0
    assert [value for _, value in chart.y_ticks] == [0, 5, 10]
    assert (chart.completed, chart.failed) == (13, 2)
    assert chart.x_labels[0][1] == "11:57"
    assert "8 completed, 2 failed" in busiest.title
