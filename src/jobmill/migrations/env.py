"""Alembic environment for jobmill's own tables.

jobmill keeps its revision in ``jobmill_alembic_version`` so its history never
collides with an application's own Alembic migrations in the same database.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from jobmill.store.schema import metadata

VERSION_TABLE = "jobmill_alembic_version"
# Any 64-bit number: serialises concurrent upgrades on PostgreSQL.
PG_MIGRATION_LOCK = 0x6A6F626D696C6C


def run_migrations_online() -> None:
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATION_LOCK})
        context.run_migrations()


run_migrations_online()
