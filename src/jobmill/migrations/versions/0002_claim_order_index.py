"""Index pending jobs in claim order, for workers serving all queues or several.

``ix_jobs_claim`` leads with ``queue``: it serves a worker of one queue in
claim order, but a worker of every queue (or of several) had to sort the
whole pending backlog on each claim.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_index(
        "ix_jobs_claim_order",
        "jobs",
        [sa.text("priority DESC"), "run_at", "id"],
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_claim_order", table_name="jobs")
