"""Index jobs by (status, queue) and (queue, id) for operators' views.

Counting jobs by status and queue (``jobmill stats``, the dashboard's
Overview) reads only the index instead of every row, and listing one queue's
jobs newest first no longer walks the whole primary key.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_jobs_status_queue", "jobs", ["status", "queue"])
    op.create_index("ix_jobs_queue_id", "jobs", ["queue", "id"])


def downgrade() -> None:
    op.drop_index("ix_jobs_queue_id", table_name="jobs")
    op.drop_index("ix_jobs_status_queue", table_name="jobs")
