"""``jobmill db upgrade``: create or upgrade jobmill's tables."""

from __future__ import annotations

import typer

from jobmill.cli.app import app
from jobmill.cli.output import make_console

db_app = typer.Typer(help="Database schema commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Create or upgrade jobmill's tables (safe to run repeatedly and concurrently)."""
    from jobmill.runtime import get_settings
    from jobmill.store.engine import make_engine
    from jobmill.store.engine import upgrade as run_upgrade

    settings = get_settings()
    engine, _ = make_engine(settings.database_url, pg_pooler=settings.pg_pooler)
    try:
        run_upgrade(engine, revision)
    finally:
        engine.dispose()
    make_console().print(
        f"jobmill tables are at revision {revision} in {engine.url.render_as_string()}"
    )
