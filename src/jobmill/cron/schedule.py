"""Cron arithmetic without I/O: parse an expression, list its ticks, plan missed ones.

Every function takes the moment it reasons about (``now``) as a parameter, so
tests pin time instead of sleeping. Ticks are aware UTC datetimes computed in
the entry's IANA time zone:

- a local time that does not exist (spring forward) moves to the next valid
  time, so a daily 02:30 job runs at 03:00 that day;
- a local time that exists twice (fall back) fires once for an expression with
  fixed hours (``30 2 * * *``), and in both real hours for one whose hour field
  is ``*`` (``0 * * * *`` stays hourly in elapsed time).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from itertools import islice
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter

from jobmill.errors import CronError

MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
# A tick reached later than this after its time counts as missed.
MISFIRE_GRACE = timedelta(seconds=60)
# Counting the missed ticks of a long outage stops here (the count is then "at least").
MISSED_COUNT_CAP = 10_000
BACKFILL_LIMIT_MAX = 10_000
# The most next run times one preview (``next_runs``, ``jobmill cron next -n``) computes.
NEXT_RUNS_MAX = 1000
_ONE_MICROSECOND = timedelta(microseconds=1)


class MisfirePolicy(StrEnum):
    """What to do with ticks that passed while no scheduler ran.

    ``run_once`` coalesces them into one catch-up run, ``skip`` drops them,
    ``backfill`` runs each of them (up to the entry's ``backfill_limit``).
    """

    RUN_ONCE = "run_once"
    SKIP = "skip"
    BACKFILL = "backfill"

    @classmethod
    def parse(cls, value: str | MisfirePolicy) -> MisfirePolicy:
        """The policy named ``value``, or ``CronError`` listing the choices."""
        try:
            return cls(value)
        except ValueError:
            choices = ", ".join(policy.value for policy in cls)
            raise CronError(f"misfire policy {value!r} is not one of: {choices}") from None


@dataclass(frozen=True)
class CronSchedule:
    """A validated cron expression in a time zone; see ``CronSchedule.parse``."""

    expression: str
    timezone: str
    zone: ZoneInfo = field(repr=False, compare=False)
    # Fixed hours follow the wall clock: the repeated autumn hour fires once.
    wall_clock_hours: bool = field(repr=False, compare=False)

    @classmethod
    def parse(cls, expression: str, timezone: str = "UTC") -> CronSchedule:
        """Validate a 5-field expression or a macro (``@daily``...) and an IANA zone.

        ``CronSchedule.parse("0 0 * * *", "Europe/Berlin").next_after(now)``;
        raises ``CronError`` saying what is wrong.
        """
        expression = " ".join(str(expression).split())
        zone = _zone(timezone)
        _check_shape(expression)
        try:
            hours = croniter(expression).expanded[1]
        except CroniterError as exc:
            raise CronError(f"cron expression {expression!r} is invalid: {exc}") from None
        schedule = cls(expression, timezone, zone, wall_clock_hours=hours != ["*"])
        try:
            schedule.next_after(datetime(2000, 1, 1, tzinfo=UTC))
        except CroniterError:
            raise CronError(f"cron expression {expression!r} never matches a date") from None
        return schedule

    def next_after(self, moment: datetime) -> datetime:
        """The first tick strictly after ``moment``; ``CronError`` if the calendar ends first."""
        for tick in self.ticks_after(moment):
            return tick
        raise CronError(f"cron expression {self.expression!r} has no tick before the year 10000")

    def upcoming(self, now: datetime, count: int = 5) -> list[datetime]:
        """The next ``count`` ticks after ``now``."""
        return list(islice(self.ticks_after(now), count))

    def ticks_after(self, moment: datetime) -> Iterator[datetime]:
        """Ticks strictly after ``moment``, oldest first (up to the year 9999)."""
        return self._ticks(moment, forward=True)

    def ticks_back(self, moment: datetime) -> Iterator[datetime]:
        """Ticks at or before ``moment``, newest first (back to the year 1)."""
        return self._ticks(moment + _ONE_MICROSECOND, forward=False)

    def local(self, moment: datetime) -> datetime:
        """``moment`` on this schedule's wall clock."""
        return moment.astimezone(self.zone)

    def _ticks(self, start: datetime, forward: bool) -> Iterator[datetime]:
        iterator = croniter(self.expression, self.local(start))
        step = iterator.get_next if forward else iterator.get_prev
        last = start
        while True:
            try:
                tick = step(datetime).astimezone(UTC)
            except CroniterError:
                raise
            except (OverflowError, ValueError):  # past the year 9999 (or before 1)
                return
            # croniter may hand a tick back twice around a DST change.
            if (tick > last) if forward else (tick < last):
                last = tick
                if not self._repeats_wall_time(tick):
                    yield tick

    def _repeats_wall_time(self, tick: datetime) -> bool:
        # ``fold`` is 1 only on the second pass through an ambiguous local time.
        return self.wall_clock_hours and self.local(tick).fold == 1


def _zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(str(timezone))
    # A key naming a directory of the zone database ("America") or too long for
    # a file name fails as the OSError of opening it.
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise CronError(
            f"timezone {timezone!r} is not an IANA time zone (e.g. 'UTC', 'Europe/Berlin')"
        ) from None


def _check_shape(expression: str) -> None:
    if expression.startswith("@"):
        if expression.lower() not in MACROS:
            raise CronError(
                f"cron expression {expression!r}: unknown macro; use one of {', '.join(MACROS)}"
            )
        return
    fields = expression.split()
    if len(fields) != 5:
        raise CronError(
            f"cron expression {expression!r} has {len(fields)} fields; expected 5 "
            "(minute hour day-of-month month day-of-week) or a macro such as @daily"
        )


@dataclass(frozen=True)
class DuePlan:
    """What one due entry should do now.

    ``run_times``: the ticks to enqueue a job for, oldest first (none, one or
    many). ``missed``: due ticks reached later than the grace period (capped at
    ``MISSED_COUNT_CAP``). ``next_run_at``: the first tick after ``now``.
    """

    run_times: tuple[datetime, ...]
    missed: int
    next_run_at: datetime


def plan_due(
    schedule: CronSchedule,
    due_at: datetime,
    now: datetime,
    policy: MisfirePolicy = MisfirePolicy.RUN_ONCE,
    backfill_limit: int = 100,
    grace: timedelta = MISFIRE_GRACE,
) -> DuePlan:
    """Plan an entry whose ``next_run_at`` (``due_at``) has come.

    The due ticks are ``due_at`` and every tick after it up to ``now``. Those
    reached within ``grace`` are on time; the rest are missed and handled by
    ``policy``. The schedule then continues from ``now``.
    """
    next_run_at = schedule.next_after(now)
    if due_at > now:
        return DuePlan((), 0, due_at)
    keep = max(1, backfill_limit) if policy is MisfirePolicy.BACKFILL else 1
    newest, total = _due_ticks(schedule, due_at, now, keep, now - grace)
    on_time = [tick for tick in newest if tick >= now - grace]
    if policy is MisfirePolicy.BACKFILL:
        runs = newest[-keep:]
    elif policy is MisfirePolicy.SKIP:
        runs = on_time[-1:]
    else:
        runs = newest[-1:]
    return DuePlan(tuple(runs), min(MISSED_COUNT_CAP, total - len(on_time)), next_run_at)


def _due_ticks(
    schedule: CronSchedule, due_at: datetime, now: datetime, keep: int, on_time_from: datetime
) -> tuple[list[datetime], int]:
    """The newest due ticks (oldest first): at least ``keep`` and every on-time one,
    and how many ticks are due in all (the older ones counted up to the cap)."""
    newest: list[datetime] = []
    for tick in schedule.ticks_back(now):
        if tick <= due_at:
            break
        if len(newest) >= keep and tick < on_time_from:
            older = _count_ticks(schedule, due_at, newest[-1])
            return newest[::-1], len(newest) + older
        newest.append(tick)
    newest.append(due_at)
    return newest[::-1], len(newest)


def _count_ticks(schedule: CronSchedule, start: datetime, end: datetime) -> int:
    """Ticks from ``start`` (counted, tick or not) up to but excluding ``end``, capped."""
    count = 1
    for tick in schedule.ticks_after(start):
        if tick >= end or count >= MISSED_COUNT_CAP:
            break
        count += 1
    return count
