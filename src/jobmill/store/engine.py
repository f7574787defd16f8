"""Engine creation and schema upgrades."""

from __future__ import annotations

import os
import weakref
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError as AlembicError
from sqlalchemy import Engine, create_engine

from jobmill.errors import ConfigurationError
from jobmill.store.dialects import READ_ONLY, Dialect, dialect_for, normalise_url

VERSION_TABLE = "jobmill_alembic_version"


def make_engine(url: str, pool_size: int = 10, pg_pooler: str = "none") -> tuple[Engine, Dialect]:
    """An engine set up for jobmill, and the dialect seam that goes with it
    (``pg_pooler``: the ``pg_pooler`` setting)."""
    url = normalise_url(url)
    dialect = dialect_for(url, pg_pooler)
    try:
        # Statement parameters hold job params and results: errors and logs
        # must not show them.
        engine = create_engine(url, hide_parameters=True, **dialect.engine_options(pool_size))
    except ModuleNotFoundError as exc:
        hint = f": pip install 'jobmill[{dialect.extra}]'" if dialect.extra else ""
        raise ConfigurationError(
            f"database_url {url.split('://')[0]}:// needs {exc.name!r}{hint}"
        ) from exc
    dialect.prepare_engine(engine)
    # Forked children must not share their parent's pooled connections. A weak
    # reference, so that engines a process is done with can still be freed.
    engine_ref = weakref.ref(engine)
    os.register_at_fork(after_in_child=lambda: _forget_pool(engine_ref))
    return engine, dialect


def _forget_pool(engine_ref: weakref.ref[Engine]) -> None:
    engine = engine_ref()
    if engine is not None:
        engine.dispose(close=False)


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("jobmill") / "migrations"))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    # A read: on SQLite it must not take the write lock every process start.
    with engine.connect() as plain:
        connection = plain.execution_options(**{READ_ONLY: True})
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def check_not_newer(engine: Engine) -> str | None:
    """The schema's revision; ``ConfigurationError`` if a newer jobmill wrote it."""
    current = current_revision(engine)
    if current is None:
        return None
    try:
        ScriptDirectory.from_config(alembic_config()).get_revision(current)
    except AlembicError:
        raise ConfigurationError(
            f"database schema {current} is newer than this jobmill (head {head_revision()}): "
            "upgrade jobmill"
        ) from None
    return current


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (idempotent, safe to run concurrently)."""
    check_not_newer(engine)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def ensure_schema(engine: Engine, auto_upgrade: bool) -> None:
    """Upgrade when allowed, else fail clearly if the schema is behind (or ahead)."""
    if check_not_newer(engine) == head_revision():
        return
    if not auto_upgrade:
        raise ConfigurationError(
            "the jobmill tables are missing or out of date; run `jobmill db upgrade`"
        )
    upgrade(engine)
