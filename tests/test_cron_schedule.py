"""Pure cron arithmetic: parsing, next runs across DST, misfire plans. Time is pinned."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import islice, pairwise

import pytest

from jobmill.cron.schedule import (
    MISSED_COUNT_CAP,
    CronSchedule,
    MisfirePolicy,
    plan_due,
)
from jobmill.errors import CronError


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def local_stamps(schedule: CronSchedule, ticks: list[datetime]) -> list[str]:
    return [schedule.local(tick).strftime("%Y-%m-%d %H:%M %Z") for tick in ticks]


# Parsing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("*/15 * * * *", ["12:15", "12:30", "12:45"]),
        ("@hourly", ["13:00", "14:00", "15:00"]),
        ("@DAILY", ["00:00", "00:00", "00:00"]),
        ("0  9 * *  MON-FRI", ["09:00", "09:00", "09:00"]),
    ],
)
def test_parse_accepts_five_fields_and_macros(expression: str, expected: list[str]) -> None:
    schedule = CronSchedule.parse(expression)
    ticks = schedule.upcoming(utc(2026, 1, 1, 12, 0, 30), 3)
    assert [tick.strftime("%H:%M") for tick in ticks] == expected
    assert all(tick.tzinfo is UTC for tick in ticks)


@pytest.mark.parametrize(
    ("expression", "timezone", "message"),
    [
        ("61 * * * *", "UTC", "'61 * * * *' is invalid: [61 * * * *] is not acceptable"),
        ("* * * *", "UTC", "has 4 fields; expected 5"),
        ("0 * * * * *", "UTC", "has 6 fields; expected 5"),
        ("", "UTC", "has 0 fields; expected 5"),
        ("@reboot", "UTC", "unknown macro; use one of @yearly"),
        ("0 0 30 2 *", "UTC", "never matches a date"),
        ("@daily", "Mars/Olympus", "timezone 'Mars/Olympus' is not an IANA time zone"),
        ("@daily", "", "timezone '' is not an IANA time zone"),
    ],
)
def test_parse_rejects_with_the_reason(expression: str, timezone: str, message: str) -> None:
    with pytest.raises(CronError) as info:
        CronSchedule.parse(expression, timezone)
    assert message in str(info.value)


def test_next_after_is_strictly_after() -> None:
    schedule = CronSchedule.parse("0 * * * *")
    assert schedule.next_after(utc(2026, 1, 1, 12)) == utc(2026, 1, 1, 13)
    assert schedule.next_after(utc(2026, 1, 1, 11, 59, 59)) == utc(2026, 1, 1, 12)


def test_ticks_back_include_the_moment_itself() -> None:
    schedule = CronSchedule.parse("0 * * * *")
    assert list(islice(schedule.ticks_back(utc(2026, 1, 1, 12)), 2)) == [
        utc(2026, 1, 1, 12),
        utc(2026, 1, 1, 11),
    ]


def test_a_timezone_shifts_the_ticks() -> None:
    schedule = CronSchedule.parse("0 9 * * *", "America/New_York")
    assert schedule.next_after(utc(2026, 1, 1)) == utc(2026, 1, 1, 14)
    assert schedule.next_after(utc(2026, 7, 1)) == utc(2026, 7, 1, 13)


# DST: Europe/Berlin changes on 2026-03-29 (02:00 -> 03:00) and 2026-10-25 (03:00 -> 02:00);
# America/New_York on 2026-03-08 (02:00 -> 03:00) and 2026-11-01 (02:00 -> 01:00).


def test_berlin_spring_forward_moves_a_missing_time_to_the_next_valid_one() -> None:
    schedule = CronSchedule.parse("30 2 * * *", "Europe/Berlin")
    ticks = schedule.upcoming(utc(2026, 3, 27, 12), 3)
    assert local_stamps(schedule, ticks) == [
        "2026-03-28 02:30 CET",
        "2026-03-29 03:00 CEST",
        "2026-03-30 02:30 CEST",
    ]


def test_berlin_fall_back_fires_a_fixed_time_once() -> None:
    schedule = CronSchedule.parse("30 2 * * *", "Europe/Berlin")
    ticks = schedule.upcoming(utc(2026, 10, 23, 12), 3)
    assert local_stamps(schedule, ticks) == [
        "2026-10-24 02:30 CEST",
        "2026-10-25 02:30 CEST",
        "2026-10-26 02:30 CET",
    ]


def test_berlin_fall_back_keeps_hourly_jobs_hourly_in_elapsed_time() -> None:
    schedule = CronSchedule.parse("0 * * * *", "Europe/Berlin")
    ticks = schedule.upcoming(utc(2026, 10, 24, 23, 30), 4)
    assert ticks == [utc(2026, 10, 25, hour) for hour in range(4)]
    assert local_stamps(schedule, ticks)[:2] == ["2026-10-25 02:00 CEST", "2026-10-25 02:00 CET"]


def test_berlin_midnight_across_both_changes() -> None:
    schedule = CronSchedule.parse("@daily", "Europe/Berlin")
    spring = schedule.upcoming(utc(2026, 3, 28, 12), 2)
    autumn = schedule.upcoming(utc(2026, 10, 24, 12), 2)
    assert spring == [utc(2026, 3, 28, 23), utc(2026, 3, 29, 22)]
    assert autumn == [utc(2026, 10, 24, 22), utc(2026, 10, 25, 23)]


def test_new_york_spring_forward_and_fall_back() -> None:
    spring = CronSchedule.parse("30 2 * * *", "America/New_York")
    autumn = CronSchedule.parse("30 1 * * *", "America/New_York")
    assert local_stamps(spring, spring.upcoming(utc(2026, 3, 7, 12), 2)) == [
        "2026-03-08 03:00 EDT",
        "2026-03-09 02:30 EDT",
    ]
    assert local_stamps(autumn, autumn.upcoming(utc(2026, 10, 31, 12), 2)) == [
        "2026-11-01 01:30 EDT",
        "2026-11-02 01:30 EST",
    ]


@pytest.mark.parametrize("timezone", ["Europe/Berlin", "America/New_York"])
@pytest.mark.parametrize("expression", ["30 2 * * *", "0 1 * * *", "15 3 * * *", "@daily"])
def test_a_daily_job_fires_once_every_local_day_for_a_year(expression: str, timezone: str) -> None:
    schedule = CronSchedule.parse(expression, timezone)
    ticks = list(islice(schedule.ticks_after(utc(2025, 12, 31, 12)), 365))
    days = Counter(schedule.local(tick).date() for tick in ticks)
    assert len(days) == 365
    assert set(days.values()) == {1}
    assert all(b - a >= timedelta(hours=22) for a, b in pairwise(ticks))


@pytest.mark.parametrize("timezone", ["Europe/Berlin", "America/New_York"])
def test_an_hourly_job_fires_every_real_hour_across_both_changes(timezone: str) -> None:
    schedule = CronSchedule.parse("0 * * * *", timezone)
    for start in (utc(2026, 3, 1, 0, 30), utc(2026, 10, 20, 0, 30)):
        ticks = list(islice(schedule.ticks_after(start), 20 * 24))
        assert all(b - a == timedelta(hours=1) for a, b in pairwise(ticks))


@pytest.mark.parametrize("timezone", ["Europe/Berlin", "America/New_York"])
@pytest.mark.parametrize("expression", ["*/20 * * * *", "30 1,2,3 * * *", "0 */2 * * *"])
def test_ticks_back_mirror_ticks_after_across_dst(expression: str, timezone: str) -> None:
    schedule = CronSchedule.parse(expression, timezone)
    for start, end in [(utc(2026, 3, 7), utc(2026, 3, 30)), (utc(2026, 10, 24), utc(2026, 11, 2))]:
        forward = []
        for tick in schedule.ticks_after(start):
            if tick > end:
                break
            forward.append(tick)
        backward = []
        for tick in schedule.ticks_back(end):
            if tick <= start:
                break
            backward.append(tick)
        assert backward[::-1] == forward


# Misfire plans -----------------------------------------------------------------

MINUTELY = CronSchedule.parse("* * * * *")
HOURLY = CronSchedule.parse("0 * * * *")


def test_plan_due_on_time_runs_the_tick_and_continues() -> None:
    for policy in MisfirePolicy:
        plan = plan_due(HOURLY, utc(2026, 1, 1, 12), utc(2026, 1, 1, 12, 0, 2), policy)
        assert plan.run_times == (utc(2026, 1, 1, 12),)
        assert plan.missed == 0
        assert plan.next_run_at == utc(2026, 1, 1, 13)


def test_plan_due_run_once_coalesces_missed_ticks() -> None:
    plan = plan_due(HOURLY, utc(2026, 1, 1, 9), utc(2026, 1, 1, 12, 30), MisfirePolicy.RUN_ONCE)
    assert plan.run_times == (utc(2026, 1, 1, 12),)
    assert plan.missed == 4  # 09:00, 10:00, 11:00, 12:00 all reached late
    assert plan.next_run_at == utc(2026, 1, 1, 13)


def test_plan_due_skip_drops_late_ticks_but_runs_an_on_time_one() -> None:
    late = plan_due(HOURLY, utc(2026, 1, 1, 9), utc(2026, 1, 1, 12, 30), MisfirePolicy.SKIP)
    assert late.run_times == ()
    assert late.missed == 4
    assert late.next_run_at == utc(2026, 1, 1, 13)
    fresh = plan_due(HOURLY, utc(2026, 1, 1, 9), utc(2026, 1, 1, 12, 0, 30), MisfirePolicy.SKIP)
    assert fresh.run_times == (utc(2026, 1, 1, 12),)
    assert fresh.missed == 3


def test_plan_due_backfill_runs_each_tick_up_to_the_limit() -> None:
    plan = plan_due(HOURLY, utc(2026, 1, 1, 9), utc(2026, 1, 1, 12, 30), MisfirePolicy.BACKFILL)
    assert plan.run_times == tuple(utc(2026, 1, 1, hour) for hour in (9, 10, 11, 12))
    limited = plan_due(
        MINUTELY, utc(2026, 1, 1, 9), utc(2026, 1, 1, 12, 0, 10), MisfirePolicy.BACKFILL, 3
    )
    assert limited.run_times == (
        utc(2026, 1, 1, 11, 58),
        utc(2026, 1, 1, 11, 59),
        utc(2026, 1, 1, 12),
    )
    assert limited.missed == 180  # 09:00 ... 11:59; 12:00 was on time
    assert limited.next_run_at == utc(2026, 1, 1, 12, 1)


def test_plan_due_counts_a_long_outage_up_to_the_cap() -> None:
    plan = plan_due(MINUTELY, utc(2025, 1, 1), utc(2026, 1, 1, 0, 0, 30))
    assert plan.run_times == (utc(2026, 1, 1),)
    assert plan.missed == MISSED_COUNT_CAP


def test_plan_due_honours_a_pinned_time_off_the_schedule() -> None:
    yearly = CronSchedule.parse("@yearly")
    plan = plan_due(yearly, utc(2026, 5, 5, 5, 5), utc(2026, 5, 5, 5, 5, 1))
    assert plan.run_times == (utc(2026, 5, 5, 5, 5),)
    assert plan.next_run_at == utc(2027, 1, 1)


def test_plan_due_before_the_time_does_nothing() -> None:
    plan = plan_due(HOURLY, utc(2026, 1, 1, 13), utc(2026, 1, 1, 12, 30))
    assert plan.run_times == ()
    assert plan.next_run_at == utc(2026, 1, 1, 13)


def test_plan_due_backfill_across_fall_back_runs_each_real_tick_once() -> None:
    schedule = CronSchedule.parse("30 * * * *", "Europe/Berlin")
    plan = plan_due(
        schedule, utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 2, 45), MisfirePolicy.BACKFILL
    )
    assert local_stamps(schedule, list(plan.run_times)) == [
        "2026-10-25 01:30 CEST",
        "2026-10-25 02:30 CEST",
        "2026-10-25 02:30 CET",
        "2026-10-25 03:30 CET",
    ]


def test_misfire_policy_parse_names_the_choices() -> None:
    assert MisfirePolicy.parse("skip") is MisfirePolicy.SKIP
    with pytest.raises(CronError, match="'sometimes' is not one of: run_once, skip, backfill"):
        MisfirePolicy.parse("sometimes")


def test_cron_names_are_exported() -> None:
    import jobmill

    assert jobmill.__all__ == sorted(jobmill.__all__)
    for name in ("CronError", "CronJob", "CronJobNotFound", "MisfirePolicy", "cron"):
        assert name in jobmill.__all__
        assert hasattr(jobmill, name)
    assert jobmill.cron.__all__ == sorted(jobmill.cron.__all__)
    assert callable(jobmill.cron.schedule)
