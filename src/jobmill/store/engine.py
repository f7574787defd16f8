"""Engine creation and schema upgrades."""

from __future__ import annotations

import os
import weakref
from importlib import resources
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, inspect, text

from jobmill.errors import ConfigurationError
from jobmill.store.dialects import READ_ONLY, Dialect, dialect_for, normalise_url

if TYPE_CHECKING:
    from alembic.config import Config

VERSION_TABLE = "jobmill_alembic_version"
# The newest migration's revision (a test checks that it is alembic's head).
# A process finds its database up to date without loading alembic, which
# took longer to import than the rest of the store: alembic is loaded only
# to upgrade, or to tell what a revision it does not know is.
HEAD_REVISION = "0007"


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
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("jobmill") / "migrations"))
    return config


def head_revision() -> str | None:
    """The newest revision, as alembic reads it from the migration scripts."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision (None: no jobmill tables yet)."""
    # A read: on SQLite it must not take the write lock every process start.
    with engine.connect() as plain:
        connection = plain.execution_options(**{READ_ONLY: True})
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        found = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()
        revisions = found.all()
    if len(revisions) > 1:
        raise ConfigurationError(f"{VERSION_TABLE} holds several revisions: {revisions}")
    return revisions[0] if revisions else None


def check_not_newer(engine: Engine) -> str | None:
    """The schema's revision; ``ConfigurationError`` if a newer jobmill wrote it."""
    current = current_revision(engine)
    if current is None or current == HEAD_REVISION:
        return current
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError as AlembicError

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
    from alembic import command

    check_not_newer(engine)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def ensure_schema(engine: Engine, auto_upgrade: bool) -> None:
    """Upgrade when allowed, else fail clearly if the schema is behind (or ahead)."""
    if check_not_newer(engine) == HEAD_REVISION:
        return
    if not auto_upgrade:
        raise ConfigurationError(
            "the jobmill tables are missing or out of date; run `jobmill db upgrade`"
        )
    upgrade(engine)
