"""Record who last changed a cron entry (CLI, dashboard or code).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cron_jobs") as batch:
        batch.add_column(sa.Column("updated_by", sa.String(255)))


def downgrade() -> None:
    with op.batch_alter_table("cron_jobs") as batch:
        batch.drop_column("updated_by")
