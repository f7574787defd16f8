"""Create jobs, job_dependencies, job_events, cron_jobs and workers.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")
RUNNING = sa.text("status = 'running'")
UNIQUE_ACTIVE = sa.text("unique_key IS NOT NULL AND status IN ('pending', 'running')")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(JSONB(), "postgresql")


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _big_id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("job_name", sa.String(200), nullable=False),
        sa.Column("queue", sa.String(100), nullable=False, server_default="default"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
        sa.Column("params", _json()),
        sa.Column("result", _json()),
        sa.Column("error", sa.Text),
        sa.Column("error_traceback", sa.Text),
        sa.Column("progress", sa.Float, nullable=False, server_default="0"),
        sa.Column("progress_message", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("max_attempts", sa.Integer, nullable=False, server_default="1"),
        sa.Column("timeout", sa.Float),
        sa.Column("unique_key", sa.String(255)),
        sa.Column("run_at", _time(), nullable=False),
        sa.Column("enqueued_at", _time(), nullable=False),
        sa.Column("started_at", _time()),
        sa.Column("completed_at", _time()),
        sa.Column("locked_by", sa.String(255)),
        sa.Column("locked_until", _time()),
        sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("cron_job_id", sa.Integer),
        sa.Column("updated_at", _time(), nullable=False),
    )
    op.create_index(
        "ix_jobs_claim",
        "jobs",
        ["queue", sa.text("priority DESC"), "run_at", "id"],
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )
    op.create_index(
        "ix_jobs_running_lock",
        "jobs",
        ["locked_until"],
        sqlite_where=RUNNING,
        postgresql_where=RUNNING,
    )
    op.create_index(
        "ux_jobs_unique_key",
        "jobs",
        ["job_name", "unique_key"],
        unique=True,
        sqlite_where=UNIQUE_ACTIVE,
        postgresql_where=UNIQUE_ACTIVE,
    )
    op.create_index("ix_jobs_status_completed", "jobs", ["status", "completed_at"])
    op.create_index("ix_jobs_name_status", "jobs", ["job_name", "status"])
    op.create_index("ix_jobs_cron_job_id", "jobs", ["cron_job_id"])

    op.create_table(
        "job_dependencies",
        sa.Column(
            "job_id",
            sa.String(36),
            sa.ForeignKey("jobs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "depends_on_id",
            sa.String(36),
            sa.ForeignKey("jobs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_index("ix_job_dependencies_depends_on", "job_dependencies", ["depends_on_id"])

    op.create_table(
        "job_events",
        sa.Column("id", _big_id(), primary_key=True, autoincrement=True),
        sa.Column(
            "job_id",
            sa.String(36),
            sa.ForeignKey("jobs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("at", _time(), nullable=False),
        sa.Column("attempt", sa.Integer),
        sa.Column("worker_id", sa.String(255)),
        sa.Column("progress", sa.Float),
        sa.Column("message", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("traceback", sa.Text),
        sa.Column("source", sa.String(255)),
    )
    op.create_index("ix_job_events_job_id", "job_events", ["job_id", "id"])

    op.create_table(
        "cron_jobs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), unique=True),
        sa.Column("job_name", sa.String(200), nullable=False),
        sa.Column("cron_expression", sa.String(200), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"),
        sa.Column("params", _json(), nullable=False, server_default=sa.text("'{}'")),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("misfire_policy", sa.String(16), nullable=False, server_default="run_once"),
        sa.Column("backfill_limit", sa.Integer, nullable=False, server_default="100"),
        sa.Column("queue", sa.String(100)),
        sa.Column("priority", sa.Integer),
        sa.Column("declared_in_code", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("last_run_at", _time()),
        sa.Column("next_run_at", _time()),
        sa.Column("last_job_id", sa.String(36)),
        sa.Column("last_error", sa.Text),
        sa.Column("missed_ticks", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", _time(), server_default=sa.text("CURRENT_TIMESTAMP")),
        sa.Column("updated_at", _time(), server_default=sa.text("CURRENT_TIMESTAMP")),
    )

    op.create_table(
        "workers",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("queues", _json()),
        sa.Column("concurrency", sa.Integer, nullable=False),
        sa.Column("started_at", _time(), nullable=False),
        sa.Column("heartbeat_at", _time(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("workers")
    op.drop_table("cron_jobs")
    op.drop_table("job_events")
    op.drop_table("job_dependencies")
    op.drop_table("jobs")
