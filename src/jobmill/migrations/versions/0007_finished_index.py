"""Only the indexes a claim, an outcome or a finished-job query reads.

On PostgreSQL a state change writes a new row version into every index of
the table; on SQLite every index holding ``status``, and an enqueue writes
every index. The (status, queue), (queue, id) and (job_name, id) indexes
served only counts and listings: counts now read the claim index (pending),
the index of running jobs and an index of finished rows by queue (written
once, as a job ends), and listings by queue or job name read the table
newest first. Finished rows, by time, have an index whose condition is
their status alone, which the counts, throughput and pruning name.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

FINISHED = sa.text("status NOT IN ('pending', 'running')")
COMPLETED = sa.text("completed_at IS NOT NULL")
DROPPED = (
    "ix_jobs_status_completed",
    "ix_jobs_status_queue",
    "ix_jobs_queue_id",
    "ix_jobs_name_id",
)


def upgrade() -> None:
    for name, column in (("ix_jobs_finished", "completed_at"), ("ix_jobs_finished_queue", "queue")):
        op.create_index(
            name, "jobs", ["status", column], sqlite_where=FINISHED, postgresql_where=FINISHED
        )
    for name in DROPPED:
        op.drop_index(name, table_name="jobs")


def downgrade() -> None:
    op.create_index("ix_jobs_name_id", "jobs", ["job_name", "id"])
    op.create_index("ix_jobs_queue_id", "jobs", ["queue", "id"])
    op.create_index("ix_jobs_status_queue", "jobs", ["status", "queue"])
    op.create_index(
        "ix_jobs_status_completed",
        "jobs",
        ["status", "completed_at"],
        sqlite_where=COMPLETED,
        postgresql_where=COMPLETED,
    )
    op.drop_index("ix_jobs_finished_queue", table_name="jobs")
    op.drop_index("ix_jobs_finished", table_name="jobs")
