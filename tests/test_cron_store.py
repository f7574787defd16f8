"""Cron entries and the scheduler on SQLite and PostgreSQL: ticks, misfires, bad rows,
declared schedules and operator actions. Time is pinned: nothing sleeps."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel, field_validator
from sqlalchemy import insert, select, text, update

import jobmill
import jobmill.cron
from cron_jobs import CronHourlyJob, CronReportJob, CronStrictJob
from jobmill import registry
from jobmill.cron.scheduler import Scheduler
from jobmill.errors import CronError, InvalidParams, UnknownJob
from jobmill.job import create_job
from jobmill.store import Store
from jobmill.store.cron import CronFiring, CronJobNotFound
from jobmill.store.schema import cron_jobs, jobs

SEED_CRON_INSERT = (
    "INSERT INTO cron_jobs (job_name, cron_expression, params, enabled) "
    "VALUES ('GenerateProjectIdeasJob', '0 0 * * *', '{\"count\": 5}', true);"
)
NOON = datetime(2026, 1, 1, 12, tzinfo=UTC)


def scheduler(store: Store) -> Scheduler:
    return Scheduler(store, poll_interval=0.05)


def insert_entry(store: Store, **values: Any) -> int:
    row = {
        "job_name": "CronReportJob",
        "cron_expression": "0 * * * *",
        "params": {},
        **values,
    }
    with store.engine.begin() as conn:
        return int(
            conn.execute(insert(cron_jobs).values(row).returning(cron_jobs.c.id)).scalar_one()
        )


def jobs_of(store: Store, cron_job_id: int) -> list[Any]:
    with store.engine.connect() as conn:
        return conn.execute(
            select(jobs).where(jobs.c.cron_job_id == cron_job_id).order_by(jobs.c.run_at)
        ).all()


@pytest.fixture
def seed_job() -> Iterator[None]:
    """A job named like the seed's, standing in for the example application's."""
    name = "GenerateProjectIdeasJob"
    original = registry.registered().get(name)
    registry.unregister(name)

    def generate(params: dict[str, Any]) -> dict[str, Any]:
        return params

    create_job(name, generate)
    try:
        yield
    finally:
        registry.unregister(name)
        if original is not None:
            registry.register(original)


# Ticks ---------------------------------------------------------------------------


def test_seed_raw_sql_row_is_picked_up_and_fires_once_a_day(
    configured: Store, seed_job: None
) -> None:
    with configured.engine.begin() as conn:
        conn.execute(text(SEED_CRON_INSERT))
    sched = scheduler(configured)
    assert sched.tick(NOON) == []
    [entry] = configured.list_cron_jobs()
    assert entry.next_run_at == datetime(2026, 1, 2, tzinfo=UTC)
    assert entry.enabled and entry.last_error is None

    assert sched.tick(datetime(2026, 1, 1, 23, 59, tzinfo=UTC)) == []
    [job_id] = sched.tick(datetime(2026, 1, 2, 0, 0, 1, tzinfo=UTC))
    record = jobmill.get(job_id)
    assert record.job_name == "GenerateProjectIdeasJob"
    assert record.params == {"count": 5}
    assert record.cron_job_id == entry.id
    entry = configured.get_cron_job(entry.id)
    assert entry.next_run_at == datetime(2026, 1, 3, tzinfo=UTC)
    assert entry.last_job_id == job_id
    assert entry.last_job_status == "pending"


def test_tick_enqueues_the_row_params_for_the_tick_and_notes_it_in_history(
    configured: Store,
) -> None:
    entry_id = insert_entry(
        configured,
        name="hourly",
        params={"count": 7},
        queue="reports",
        priority=5,
        next_run_at=NOON,
    )
    [job_id] = scheduler(configured).tick(NOON + timedelta(seconds=1))
    record = jobmill.get(job_id)
    assert (record.params, record.queue, record.priority) == (
        {"count": 7, "label": "report"},
        "reports",
        5,
    )
    assert record.run_at == NOON
    assert record.cron_job_id == entry_id
    [event] = [e for e in jobmill.history(job_id) if e.kind == "cron"]
    assert event.message == f"enqueued by cron entry 'hourly' (#{entry_id})"
    assert event.source is not None and event.source.startswith("scheduler:")


def test_a_tick_fires_once_however_many_passes_see_it(configured: Store) -> None:
    entry_id = insert_entry(configured, next_run_at=NOON)
    sched = scheduler(configured)
    first = sched.tick(NOON + timedelta(seconds=1))
    again = sched.tick(NOON + timedelta(seconds=2))
    assert len(first) == 1 and again == []
    assert len(jobs_of(configured, entry_id)) == 1


def test_a_stale_firing_writes_nothing(configured: Store) -> None:
    entry_id = insert_entry(configured, next_run_at=NOON)
    [due] = configured.due_cron_jobs(NOON)
    definition = jobmill.cron.CronDefinition.of_entry(due.entry)

    def firing() -> CronFiring:
        return CronFiring(
            cron_job_id=entry_id,
            seen=due.stored_next_run_at,
            next_run_at=NOON + timedelta(hours=1),
            new_jobs=[definition.build_job(entry_id, NOON)],
            missed_ticks=0,
            source="test",
            note="test",
        )

    assert configured.fire_cron_job(firing()) is True
    assert configured.fire_cron_job(firing()) is False
    assert len(jobs_of(configured, entry_id)) == 1


def test_a_next_run_written_by_hand_fires_once(configured: Store) -> None:
    entry_id = insert_entry(configured)
    with configured.engine.begin() as conn:
        conn.execute(
            text("UPDATE cron_jobs SET next_run_at = '2026-01-01 12:00:00+00:00' WHERE id = :id"),
            {"id": entry_id},
        )
    sched = scheduler(configured)
    assert len(sched.tick(NOON + timedelta(seconds=1))) == 1
    assert sched.tick(NOON + timedelta(seconds=2)) == []
    assert configured.get_cron_job(entry_id).next_run_at == NOON + timedelta(hours=1)


def test_concurrent_schedulers_in_threads_enqueue_one_job_per_tick(configured: Store) -> None:
    entry_ids = [insert_entry(configured, next_run_at=NOON) for _ in range(5)]
    barrier = threading.Barrier(4)
    results: list[list[str]] = []

    def run() -> None:
        sched = scheduler(configured)
        barrier.wait()
        results.append(sched.tick(NOON + timedelta(seconds=1)))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(len(ids) for ids in results) == 5
    assert [len(jobs_of(configured, entry_id)) for entry_id in entry_ids] == [1] * 5


def test_ticks_follow_the_row_timezone_across_dst(configured: Store) -> None:
    entry_id = insert_entry(
        configured, cron_expression="30 2 * * *", timezone="Europe/Berlin", next_run_at=None
    )
    sched = scheduler(configured)
    sched.tick(datetime(2026, 10, 24, 12, tzinfo=UTC))
    fired: list[datetime] = []
    moment = datetime(2026, 10, 24, 12, tzinfo=UTC)
    while moment < datetime(2026, 10, 27, tzinfo=UTC):
        moment += timedelta(minutes=30)
        if sched.tick(moment):
            fired.append(moment)
    assert fired == [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 02:30 CEST, once
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC),  # 02:30 CET
    ]
    assert [row.run_at for row in jobs_of(configured, entry_id)] == fired


# Misfires ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "expected_runs"),
    [
        ("run_once", [datetime(2026, 1, 1, 12, tzinfo=UTC)]),
        ("skip", []),
        ("backfill", [datetime(2026, 1, 1, hour, tzinfo=UTC) for hour in (10, 11, 12)]),
    ],
)
def test_missed_ticks_follow_the_misfire_policy(
    configured: Store, policy: str, expected_runs: list[datetime]
) -> None:
    entry_id = insert_entry(
        configured,
        misfire_policy=policy,
        backfill_limit=3,
        next_run_at=datetime(2026, 1, 1, 8, tzinfo=UTC),
    )
    scheduler(configured).tick(datetime(2026, 1, 1, 12, 30, tzinfo=UTC))
    assert [row.run_at for row in jobs_of(configured, entry_id)] == expected_runs
    entry = configured.get_cron_job(entry_id)
    assert entry.missed_ticks == 5  # 08:00 ... 12:00
    assert entry.next_run_at == datetime(2026, 1, 1, 13, tzinfo=UTC)


def test_missed_ticks_reset_once_on_time_again(configured: Store) -> None:
    entry_id = insert_entry(configured, next_run_at=datetime(2026, 1, 1, 8, tzinfo=UTC))
    sched = scheduler(configured)
    sched.tick(datetime(2026, 1, 1, 12, 30, tzinfo=UTC))
    sched.tick(datetime(2026, 1, 1, 13, 0, 1, tzinfo=UTC))
    assert configured.get_cron_job(entry_id).missed_ticks == 0


# Disabled and bad rows ------------------------------------------------------------


def test_disabled_rows_never_fire(configured: Store) -> None:
    entry_id = insert_entry(configured, enabled=False, next_run_at=NOON)
    assert scheduler(configured).tick(NOON + timedelta(hours=5)) == []
    assert jobs_of(configured, entry_id) == []


def test_enabling_does_not_fire_ticks_missed_while_disabled(configured: Store) -> None:
    jobmill.cron.add_cron_job(name="enable-me", job=CronReportJob, expression="0 * * * *", now=NOON)
    jobmill.cron.disable_cron_job("enable-me", source="test")
    later = NOON + timedelta(hours=5, minutes=10)
    entry = jobmill.cron.enable_cron_job("enable-me", source="test", now=later)
    assert entry.next_run_at == NOON + timedelta(hours=6)
    assert scheduler(configured).tick(later + timedelta(seconds=1)) == []
    assert jobs_of(configured, entry.id) == []


def test_enabling_an_enabled_entry_keeps_its_schedule(configured: Store) -> None:
    entry = jobmill.cron.add_cron_job(
        name="running", job=CronReportJob, expression="0 * * * *", now=NOON
    )
    again = jobmill.cron.enable_cron_job("running", now=NOON + timedelta(hours=3))
    assert again.next_run_at == entry.next_run_at == NOON + timedelta(hours=1)


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"cron_expression": "61 * * * *"}, "is invalid: [61 * * * *] is not acceptable"),
        ({"cron_expression": "* * * * * *"}, "has 6 fields; expected 5"),
        ({"timezone": "Nowhere/Town"}, "timezone 'Nowhere/Town' is not an IANA time zone"),
        # A directory of the zone database: opening it is an OSError, not "not found".
        ({"timezone": "America"}, "timezone 'America' is not an IANA time zone"),
        ({"job_name": "CronStrictJob", "params": {}}, "count: Field required"),
        ({"params": {"count": "many"}}, "count: Input should be a valid integer"),
        ({"misfire_policy": "sometimes"}, "misfire policy 'sometimes' is not one of"),
    ],
)
def test_a_bad_row_is_disabled_with_its_error_and_others_still_fire(
    configured: Store, values: dict[str, Any], error: str, caplog: pytest.LogCaptureFixture
) -> None:
    bad_id = insert_entry(configured, name="bad", next_run_at=NOON, **values)
    good_id = insert_entry(configured, name="good", next_run_at=NOON)
    enqueued = scheduler(configured).tick(NOON + timedelta(seconds=1))
    bad = configured.get_cron_job(bad_id)
    assert not bad.enabled
    assert bad.last_error is not None and error in bad.last_error
    assert jobs_of(configured, bad_id) == []
    assert [row.id for row in jobs_of(configured, good_id)] == enqueued
    assert f"cron entry 'bad' (#{bad_id}) is disabled" in caplog.text


def test_sqlite_rows_with_params_not_json_or_a_zone_too_long_for_a_file_name_are_disabled(
    sqlite_configured: Store,
) -> None:
    # PostgreSQL's JSONB and VARCHAR(64) refuse these rows; SQLite stores them as given.
    store = sqlite_configured
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO cron_jobs (name, job_name, cron_expression, params, enabled) "
                "VALUES ('not-json', 'CronReportJob', '0 * * * *', '{count: 5}', true)"
            )
        )
    long_zone_id = insert_entry(store, name="long-zone", timezone="Europe/" + "x" * 300)
    good_id = insert_entry(store, name="good", next_run_at=NOON)
    sched = scheduler(store)
    sched.tick(NOON - timedelta(minutes=1))  # the raw rows get their first tick
    enqueued = sched.tick(NOON + timedelta(seconds=1))
    assert [row.id for row in jobs_of(store, good_id)] == enqueued != []
    not_json = store.get_cron_job("not-json")
    assert not_json.params == "{count: 5}" and not not_json.enabled
    assert "cron params '{count: 5}' is not valid JSON" in (not_json.last_error or "")
    long_zone = store.get_cron_job(long_zone_id)
    assert not long_zone.enabled and "is not an IANA time zone" in (long_zone.last_error or "")


class TouchyParams(BaseModel):
    count: int = 0

    @field_validator("count")
    @classmethod
    def _no_thirteen(cls, value: int) -> int:
        if value == 13:
            raise RuntimeError("the validator broke on 13")
        return value


def touchy_perform(params: TouchyParams) -> None:
    return None


def test_an_entry_whose_params_validator_crashes_is_disabled_and_others_fire(
    configured: Store,
) -> None:
    touchy = create_job("CronTouchyJob", touchy_perform)
    try:
        bad_id = insert_entry(
            configured, job_name="CronTouchyJob", params={"count": 13}, next_run_at=NOON
        )
        good_id = insert_entry(configured, next_run_at=NOON)
        enqueued = scheduler(configured).tick(NOON + timedelta(seconds=1))
    finally:
        registry.unregister(touchy.job_name)
    assert [row.id for row in jobs_of(configured, good_id)] == enqueued != []
    bad = configured.get_cron_job(bad_id)
    assert not bad.enabled
    assert bad.last_error == "RuntimeError: the validator broke on 13"


def test_a_class_cron_option_with_a_directory_for_zone_is_left_out_with_one_error(
    configured: Store, caplog: pytest.LogCaptureFixture
) -> None:
    def perform(params: dict[str, Any]) -> None:
        return None

    bad = create_job("CronZoneDirectoryJob", perform, cron="@daily", cron_timezone="America")
    try:
        scheduler(configured).declare(NOON)
    finally:
        registry.unregister(bad.job_name)
    names = {entry.name for entry in configured.list_cron_jobs()}
    assert "CronZoneDirectoryJob" not in names and "CronHourlyJob" in names
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "the cron option of CronZoneDirectoryJob is not scheduled: timezone 'America' is not "
        "an IANA time zone (e.g. 'UTC', 'Europe/Berlin')"
    ]


def test_a_job_unknown_here_is_left_to_other_schedulers_then_disabled(
    configured: Store, caplog: pytest.LogCaptureFixture
) -> None:
    entry_id = insert_entry(
        configured, name="elsewhere", job_name="CronNoSuchJob", next_run_at=NOON
    )
    ignorant = scheduler(configured)
    grace = ignorant.grace
    caplog.set_level(logging.INFO, logger="jobmill.cron")

    assert ignorant.tick(NOON + timedelta(seconds=1)) == []
    assert ignorant.tick(NOON + grace) == []
    waiting = configured.get_cron_job(entry_id)
    assert waiting.enabled and waiting.last_error is None
    assert "CronNoSuchJob is not defined here" in caplog.text

    # A scheduler that defines the job fires the tick: the row moves on, untouched.
    with configured.engine.begin() as conn:
        conn.execute(
            update(cron_jobs)
            .where(cron_jobs.c.id == entry_id)
            .values(next_run_at=NOON + timedelta(minutes=1))
        )
    assert ignorant.tick(NOON + timedelta(minutes=1, seconds=1)) == []
    assert configured.get_cron_job(entry_id).enabled

    # Nobody fired it within the grace period: the job is unknown everywhere.
    ignorant.tick(NOON + timedelta(minutes=1) + grace + timedelta(seconds=1))
    disabled = configured.get_cron_job(entry_id)
    assert not disabled.enabled
    assert "unknown job 'CronNoSuchJob'" in (disabled.last_error or "")
    assert jobs_of(configured, entry_id) == []


def test_a_raw_row_with_null_next_run_and_a_bad_expression_is_disabled(
    configured: Store,
) -> None:
    entry_id = insert_entry(configured, cron_expression="every day", next_run_at=None)
    scheduler(configured).tick(NOON)
    entry = configured.get_cron_job(entry_id)
    assert not entry.enabled and "has 2 fields" in (entry.last_error or "")


def test_a_scheduler_that_knows_no_jobs_leaves_rows_alone(
    configured: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry_id = insert_entry(configured, next_run_at=NOON)
    monkeypatch.setattr(registry, "registered", dict)
    assert scheduler(configured).tick(NOON + timedelta(seconds=1)) == []
    assert configured.get_cron_job(entry_id).enabled


# Schedules declared in code ------------------------------------------------------------


def test_declare_upserts_class_options_and_schedule_calls(configured: Store) -> None:
    sched = scheduler(configured)
    sched.declare(NOON)
    sched.declare(NOON)
    hourly = configured.get_cron_job("CronHourlyJob")
    nightly = configured.get_cron_job("cron-tests-nightly")
    assert (hourly.cron_expression, hourly.timezone, hourly.params) == (
        CronHourlyJob.cron,
        "Europe/Berlin",
        {"label": "hourly"},
    )
    assert hourly.declared_in_code and hourly.enabled
    assert hourly.next_run_at == NOON + timedelta(hours=1)
    assert (nightly.job_name, nightly.params, nightly.misfire_policy) == (
        "CronReportJob",
        {"count": 3},
        "skip",
    )
    assert nightly.next_run_at == datetime(2026, 1, 2, 7, 30, tzinfo=UTC)
    names = [entry.name for entry in configured.list_cron_jobs()]
    assert names.count("CronHourlyJob") == 1


def test_declare_updates_a_changed_definition_and_keeps_an_operator_disable(
    configured: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    sched = scheduler(configured)
    sched.declare(NOON)
    jobmill.cron.disable_cron_job("cron-tests-nightly", source="test")
    monkeypatch.setattr(CronHourlyJob, "cron", "*/10 * * * *")
    sched.declare(NOON + timedelta(minutes=1))
    hourly = configured.get_cron_job("CronHourlyJob")
    assert hourly.cron_expression == "*/10 * * * *"
    assert hourly.next_run_at == NOON + timedelta(minutes=10)
    assert not configured.get_cron_job("cron-tests-nightly").enabled


def test_declare_enables_again_an_entry_the_scheduler_disabled(configured: Store) -> None:
    sched = scheduler(configured)
    sched.declare(NOON)
    with configured.engine.begin() as conn:
        conn.execute(
            update(cron_jobs)
            .where(cron_jobs.c.name == "CronHourlyJob")
            .values(cron_expression="bad", next_run_at=NOON)
        )
    sched.tick(NOON + timedelta(seconds=1))
    assert not configured.get_cron_job("CronHourlyJob").enabled
    sched.declare(NOON + timedelta(minutes=5))
    entry = configured.get_cron_job("CronHourlyJob")
    assert entry.enabled and entry.last_error is None
    assert entry.cron_expression == "0 * * * *"
    assert entry.next_run_at == NOON + timedelta(hours=1)


def test_schedule_rejects_a_bad_declaration_at_once() -> None:
    with pytest.raises(CronError, match="has 4 fields"):
        jobmill.cron.schedule("cron-tests-bad", CronReportJob, "0 * * *")
    with pytest.raises(InvalidParams, match="count"):
        jobmill.cron.schedule("cron-tests-bad", CronStrictJob, "@daily")
    with pytest.raises(UnknownJob):
        jobmill.cron.schedule("cron-tests-bad", "CronNoSuchJob", "@daily")
    with pytest.raises(CronError, match="a different schedule named 'cron-tests-nightly'"):
        jobmill.cron.schedule("cron-tests-nightly", CronReportJob, "@daily")


def test_arun_declares_fires_and_stops(configured: Store) -> None:
    entry_id = insert_entry(configured, next_run_at=NOON)

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(scheduler(configured).arun(stop))
        deadline = asyncio.get_running_loop().time() + 10
        while not jobs_of(configured, entry_id):
            assert asyncio.get_running_loop().time() < deadline, "the scheduler never fired"
            await asyncio.sleep(0.02)
        stop.set()
        await asyncio.wait_for(task, timeout=5)

    asyncio.run(main())
    assert len(jobs_of(configured, entry_id)) == 1
    assert configured.get_cron_job("CronHourlyJob").declared_in_code


# Operator actions -----------------------------------------------------------------


def test_add_validates_up_front_and_stores_nothing_when_bad(configured: Store) -> None:
    with pytest.raises(CronError, match="out of range"):
        jobmill.cron.add_cron_job(name="x", job="CronReportJob", expression="0 25 * * *")
    with pytest.raises(UnknownJob):
        jobmill.cron.add_cron_job(name="x", job="CronNoSuchJob", expression="@daily")
    with pytest.raises(InvalidParams):
        jobmill.cron.add_cron_job(name="x", job="CronStrictJob", expression="@daily")
    with pytest.raises(CronError, match="must not be a number"):
        jobmill.cron.add_cron_job(name="42", job="CronReportJob", expression="@daily")
    assert configured.list_cron_jobs() == []


def test_add_rejects_a_taken_name(configured: Store) -> None:
    jobmill.cron.add_cron_job(name="daily", job="CronReportJob", expression="@daily")
    with pytest.raises(CronError, match="a cron entry named 'daily' already exists"):
        jobmill.cron.add_cron_job(name="daily", job="CronReportJob", expression="@hourly")


def test_run_enqueues_now_and_records_the_operator(configured: Store) -> None:
    entry = jobmill.cron.add_cron_job(
        name="on-demand",
        job=CronStrictJob,
        expression="@yearly",
        params={"count": 2},
        now=NOON,
    )
    job_id = jobmill.cron.run_cron_job(str(entry.id), source="cli:tester@host")
    record = jobmill.get(job_id)
    assert (record.params, record.queue, record.cron_job_id) == (
        {"count": 2},
        "cron-strict",
        entry.id,
    )
    [event] = [e for e in jobmill.history(job_id) if e.kind == "cron_run"]
    assert event.source == "cli:tester@host"
    assert event.message == f"run now from cron entry 'on-demand' (#{entry.id})"
    after = configured.get_cron_job("on-demand")
    assert after.last_job_id == job_id
    assert after.next_run_at == entry.next_run_at


def test_remove_and_lookups(configured: Store) -> None:
    entry = jobmill.cron.add_cron_job(name="gone", job="CronReportJob", expression="@daily")
    assert jobmill.cron.remove_cron_job("gone", source="test").id == entry.id
    with pytest.raises(CronJobNotFound, match="no cron entry named or numbered 'gone'"):
        jobmill.cron.get_cron_job("gone")
    with pytest.raises(CronJobNotFound):
        jobmill.cron.run_cron_job(str(entry.id))


def test_operator_changes_record_who_made_them(configured: Store) -> None:
    from jobmill.cron import commands

    commands.add_cron_job(
        name="audited", job="CronReportJob", expression="* * * * *", source="cli:ann@h"
    )
    assert commands.get_cron_job("audited").updated_by == "cli:ann@h"
    commands.disable_cron_job("audited", source="dashboard:bob@10.0.0.1")
    assert commands.get_cron_job("audited").updated_by == "dashboard:bob@10.0.0.1"
    commands.enable_cron_job("audited", source="cli:cy@h")
    assert commands.get_cron_job("audited").updated_by == "cli:cy@h"
