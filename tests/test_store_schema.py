"""The migrations and the schema module describe the same tables; the seed's raw SQL works."""

from __future__ import annotations

import json
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from jobmill.store import Store
from jobmill.store.engine import (
    HEAD_REVISION,
    VERSION_TABLE,
    current_revision,
    head_revision,
    upgrade,
)
from jobmill.store.schema import metadata

SEED_CRON_INSERT = (
    "INSERT INTO cron_jobs (job_name, cron_expression, params, enabled) "
    "VALUES ('GenerateProjectIdeasJob', '0 0 * * *', '{\"count\": 5}', true);"
)


# Expression indexes (``priority DESC``) cannot be compared by Alembic; checked by name.
EXPRESSION_INDEXES = {"ix_jobs_claim", "ix_jobs_claim_order"}


def _skip_expression_indexes(obj: Any, name: str | None, kind: str, *_: Any) -> bool:
    return not (kind == "index" and name in EXPRESSION_INDEXES)


def test_migrated_schema_matches_metadata(configured: Store) -> None:
    with configured.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"version_table": VERSION_TABLE, "include_object": _skip_expression_indexes},
        )
        differences = compare_metadata(context, metadata)
        indexes = {index["name"] for index in inspect(conn).get_indexes("jobs")}
    assert differences == []
    assert indexes >= EXPRESSION_INDEXES


def test_upgrade_is_idempotent_and_uses_its_own_version_table(configured: Store) -> None:
    upgrade(configured.engine)
    assert current_revision(configured.engine) == head_revision()
    with configured.engine.connect() as conn:
        assert (
            conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
            == head_revision()
        )


def test_the_head_revision_jobmill_expects_is_the_newest_migration() -> None:
    # An up-to-date schema is recognised by HEAD_REVISION, without alembic.
    assert head_revision() == HEAD_REVISION


def test_seed_raw_cron_insert_works(configured: Store) -> None:
    with configured.engine.begin() as conn:
        conn.execute(text(SEED_CRON_INSERT))
        row = conn.execute(text("SELECT * FROM cron_jobs")).mappings().one()
    params = row["params"] if isinstance(row["params"], dict) else json.loads(row["params"])
    assert params == {"count": 5}
    assert row["timezone"] == "UTC"
    assert bool(row["enabled"]) is True
    assert row["next_run_at"] is None
    assert row["misfire_policy"] == "run_once"
