"""The tables, as SQLAlchemy Core metadata. Migrations create them; this module
describes them for queries. Keep the two in step (a test compares them)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

from jobmill.storable import (
    CRON_EXPRESSION_LENGTH,
    CRON_NAME_LENGTH,
    JOB_NAME_LENGTH,
    QUEUE_LENGTH,
    UNIQUE_KEY_LENGTH,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database (SQLite stores them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given where UTC is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        # Read for every claimed job: one plain function, not DateTime's
        # processor and then this type's. SQLite hands back text, parsed here
        # in one step; psycopg hands back datetimes.
        if dialect.name == "sqlite" or self._impl_reads_as_is(dialect, coltype):
            return utc_from_stored
        return super().result_processor(dialect, coltype)

    def _impl_reads_as_is(self, dialect: Dialect, coltype: object) -> bool:
        impl = self.impl_instance.dialect_impl(dialect)
        return impl.result_processor(dialect, coltype) is None

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # raw SQL inserts on SQLite may store text
            value = datetime.fromisoformat(value)
        moment: datetime = value
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)


def utc_from_stored(value: Any) -> datetime | None:
    """A stored timestamp (aware, naive UTC or ISO text) as an aware UTC datetime."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if moment.tzinfo is UTC:
        return moment
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def json_type() -> JSON:
    """JSON on SQLite, JSONB on PostgreSQL; Python None is stored as SQL NULL."""
    return JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


ID = BigInteger().with_variant(Integer(), "sqlite")
ACTIVE = "status IN ('pending', 'running')"
# The rows of the ix_jobs_finished indexes.
FINISHED = text("status NOT IN ('pending', 'running')")

metadata = MetaData()

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("job_name", String(JOB_NAME_LENGTH), nullable=False),
    Column("queue", String(QUEUE_LENGTH), nullable=False, server_default="default"),
    Column("status", String(16), nullable=False),
    Column("priority", Integer, nullable=False, server_default="0"),
    Column("params", json_type()),
    Column("result", json_type()),
    Column("error", Text),
    Column("error_traceback", Text),
    Column("progress", Float, nullable=False, server_default="0"),
    Column("progress_message", Text),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("max_attempts", Integer, nullable=False, server_default="1"),
    Column("timeout", Float),
    Column("unique_key", String(UNIQUE_KEY_LENGTH)),
    Column("run_at", UTCDateTime, nullable=False),
    Column("enqueued_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime),
    Column("completed_at", UTCDateTime),
    Column("locked_by", String(255)),
    Column("locked_until", UTCDateTime),
    Column("cancel_requested", Boolean, nullable=False, server_default=text("false")),
    # The dependency whose failure or cancellation cancelled this job, if one did.
    Column("cancelled_by", String(36)),
    Column("cron_job_id", Integer),
    Column("updated_at", UTCDateTime, nullable=False),
    # Claims read only pending rows: a partial index keeps them fast however
    # many finished rows sit beside them.
    Index(
        "ix_jobs_claim",
        "queue",
        text("priority DESC"),
        "run_at",
        "id",
        sqlite_where=text("status = 'pending'"),
        postgresql_where=text("status = 'pending'"),
    ),
    # Workers serving every queue, or several, claim in this order.
    Index(
        "ix_jobs_claim_order",
        text("priority DESC"),
        "run_at",
        "id",
        sqlite_where=text("status = 'pending'"),
        postgresql_where=text("status = 'pending'"),
    ),
    Index(
        "ix_jobs_running_lock",
        "locked_until",
        sqlite_where=text("status = 'running'"),
        postgresql_where=text("status = 'running'"),
    ),
    Index(
        "ux_jobs_unique_key",
        "job_name",
        "unique_key",
        unique=True,
        sqlite_where=text(f"unique_key IS NOT NULL AND {ACTIVE}"),
        postgresql_where=text(f"unique_key IS NOT NULL AND {ACTIVE}"),
    ),
    # Finished rows (any status but pending and running): by time for
    # throughput and pruning, by queue for counts. Written once, as a job
    # ends. A query reads them only if it holds FINISHED as it stands (SQLite
    # uses a partial index only for a query that repeats its condition).
    Index(
        "ix_jobs_finished",
        "status",
        "completed_at",
        sqlite_where=FINISHED,
        postgresql_where=FINISHED,
    ),
    Index(
        "ix_jobs_finished_queue",
        "status",
        "queue",
        sqlite_where=FINISHED,
        postgresql_where=FINISHED,
    ),
    Index(
        "ix_jobs_cron_job_id",
        "cron_job_id",
        sqlite_where=text("cron_job_id IS NOT NULL"),
        postgresql_where=text("cron_job_id IS NOT NULL"),
    ),
)

job_dependencies = Table(
    "job_dependencies",
    metadata,
    Column("job_id", String(36), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "depends_on_id",
        String(36),
        ForeignKey("jobs.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Index("ix_job_dependencies_depends_on", "depends_on_id"),
)

job_events = Table(
    "job_events",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("job_id", String(36), ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("attempt", Integer),
    Column("worker_id", String(255)),
    Column("progress", Float),
    Column("message", Text),
    Column("error", Text),
    Column("traceback", Text),
    Column("source", String(255)),
    Index("ix_job_events_job_id", "job_id", "id"),
)

cron_jobs = Table(
    "cron_jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(CRON_NAME_LENGTH), unique=True),
    Column("job_name", String(JOB_NAME_LENGTH), nullable=False),
    Column("cron_expression", String(CRON_EXPRESSION_LENGTH), nullable=False),
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    Column("params", json_type(), nullable=False, server_default=text("'{}'")),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("misfire_policy", String(16), nullable=False, server_default="run_once"),
    Column("backfill_limit", Integer, nullable=False, server_default="100"),
    Column("queue", String(QUEUE_LENGTH)),
    Column("priority", Integer),
    Column("declared_in_code", Boolean, nullable=False, server_default=text("false")),
    Column("last_run_at", UTCDateTime),
    Column("next_run_at", UTCDateTime),
    Column("last_job_id", String(36)),
    Column("last_error", Text),
    Column("missed_ticks", Integer, nullable=False, server_default="0"),
    Column("updated_by", String(255)),
    Column("created_at", UTCDateTime, server_default=text("CURRENT_TIMESTAMP")),
    Column("updated_at", UTCDateTime, server_default=text("CURRENT_TIMESTAMP")),
)

workers = Table(
    "workers",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("hostname", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("queues", json_type()),
    Column("concurrency", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
)
