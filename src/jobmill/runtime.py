"""The process-wide configuration and the store built from it."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from jobmill.settings import Settings, load_settings

if TYPE_CHECKING:
    from jobmill.store import Store

_mutex = threading.Lock()
_settings: Settings | None = None
_store: Store | None = None


def configure(**settings: Any) -> Settings:
    """Set jobmill's settings in code (they win over environment and files).

    ``jobmill.configure(database_url="postgresql://localhost/app", lock_timeout=60)``
    """
    global _settings, _store
    new = load_settings(**settings)
    with _mutex:
        old, _store = _store, None
        _settings = new
    if old is not None:
        old.dispose()
    return new


def get_settings() -> Settings:
    global _settings
    with _mutex:
        if _settings is None:
            _settings = load_settings()
        return _settings


def get_store() -> Store:
    """The store for the configured database, created (and upgraded) on first use."""
    global _store
    settings = get_settings()
    with _mutex:
        if _store is None:
            from jobmill.store import Store  # the database code, loaded on first use

            _store = Store.from_url(
                settings.database_url,
                pool_size=settings.concurrency + 2,
                auto_upgrade=settings.auto_upgrade,
                pg_pooler=settings.pg_pooler,
            )
        return _store


def reset() -> None:
    """Forget settings and close the store (tests, forked processes)."""
    global _settings, _store
    with _mutex:
        old, _store, _settings = _store, None, None
    if old is not None:
        old.dispose()
