"""Alembic environment for the application's tables.

The revision lives in ``project_ideas_alembic_version``, beside jobmill's own
``jobmill_alembic_version`` in the same database: two histories, no collision.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from project_ideas.models import Base

VERSION_TABLE = "project_ideas_alembic_version"
# Serialises concurrent upgrades on PostgreSQL (any 64-bit number not jobmill's).
PG_MIGRATION_LOCK = 0x70726F6A656374


def run_migrations_online() -> None:
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATION_LOCK})
        context.run_migrations()


run_migrations_online()
