"""Fewer indexes on jobs, so that each state change rewrites fewer of them.

Every claim and every outcome changes ``status``; each index holding it is
rewritten on SQLite, and on PostgreSQL every index gets a new entry for the
new row version (partial indexes only when their condition holds). The
(job_name, status) index served no query but offered the planner a wrong way
to claim: listings by job name read (job_name, id) instead, which a state
change leaves alone on SQLite. Indexes on columns most rows leave NULL
(``completed_at`` until a job ends, ``cron_job_id`` for jobs not fired by
cron) hold only the rows that have a value.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COMPLETED = sa.text("completed_at IS NOT NULL")
CRON = sa.text("cron_job_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_jobs_name_status", table_name="jobs")
    op.create_index("ix_jobs_name_id", "jobs", ["job_name", "id"])
    op.drop_index("ix_jobs_status_completed", table_name="jobs")
    op.create_index(
        "ix_jobs_status_completed",
        "jobs",
        ["status", "completed_at"],
        sqlite_where=COMPLETED,
        postgresql_where=COMPLETED,
    )
    op.drop_index("ix_jobs_cron_job_id", table_name="jobs")
    op.create_index(
        "ix_jobs_cron_job_id", "jobs", ["cron_job_id"], sqlite_where=CRON, postgresql_where=CRON
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_cron_job_id", table_name="jobs")
    op.create_index("ix_jobs_cron_job_id", "jobs", ["cron_job_id"])
    op.drop_index("ix_jobs_status_completed", table_name="jobs")
    op.create_index("ix_jobs_status_completed", "jobs", ["status", "completed_at"])
    op.drop_index("ix_jobs_name_id", table_name="jobs")
    op.create_index("ix_jobs_name_status", "jobs", ["job_name", "status"])
