"""Record which dependency cancelled a job: ``jobs.cancelled_by``.

A job cancelled because a job it depends on failed or was cancelled names
that job here, so retrying it brings back exactly the jobs it took down.
Jobs cancelled that way before this revision are found by their error text
("dependency <id> ended <status>") once, here.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# "dependency " is 11 characters; a job id is 36.
BACKFILL = """
UPDATE jobs SET cancelled_by = substr(error, 12, 36)
WHERE status = 'cancelled'
  AND error LIKE 'dependency % ended %'
  AND EXISTS (
    SELECT 1 FROM job_dependencies d
    WHERE d.job_id = jobs.id AND d.depends_on_id = substr(jobs.error, 12, 36)
  )
"""


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("cancelled_by", sa.String(36)))
    op.execute(BACKFILL)


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("cancelled_by")
