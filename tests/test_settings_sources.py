"""Settings: code, then JOBMILL_* environment, then pyproject.toml / jobmill.toml, then defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobmill import ConfigurationError
from jobmill.settings import load_settings
from jobmill.store.dialects import dialect_for


def test_defaults() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///jobmill.db"
    assert settings.lock_timeout == 300
    assert settings.imports == []
    assert settings.auto_upgrade is None
    assert dialect_for(settings.database_url).upgrades_automatically


def test_precedence_code_env_pyproject(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.jobmill]\ndatabase_url = "sqlite:///from-pyproject.db"\n'
        'lock_timeout = 42\nimports = ["app.jobs"]\n'
    )
    settings = load_settings()
    assert (settings.database_url, settings.lock_timeout, settings.imports) == (
        "sqlite:///from-pyproject.db",
        42,
        ["app.jobs"],
    )
    monkeypatch.setenv("JOBMILL_LOCK_TIMEOUT", "7")
    monkeypatch.setenv("JOBMILL_IMPORTS", "a.jobs, b.jobs")
    settings = load_settings()
    assert (settings.lock_timeout, settings.imports) == (7, ["a.jobs", "b.jobs"])
    assert load_settings(lock_timeout=3).lock_timeout == 3


def test_jobmill_toml(tmp_path: Path) -> None:
    (tmp_path / "jobmill.toml").write_text("poll_interval = 0.5\n")
    assert load_settings().poll_interval == 0.5


def test_postgres_is_not_upgraded_implicitly() -> None:
    url = load_settings(database_url="postgresql+psycopg://localhost/x").database_url
    assert not dialect_for(url).upgrades_automatically


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("JOBMILL_LOCK_TIMEOUT", "soon", "lock_timeout (JOBMILL_LOCK_TIMEOUT)"),
        ("JOBMILL_POLL_INTERVAL", "-1", "poll_interval (JOBMILL_POLL_INTERVAL)"),
        ("JOBMILL_CONCURRENCY", "0", "concurrency (JOBMILL_CONCURRENCY)"),
    ],
)
def test_invalid_values_are_reported_by_name(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert expected in str(caught.value)
    assert repr(value) in str(caught.value)


def test_unknown_setting_in_code_is_rejected() -> None:
    with pytest.raises(ConfigurationError, match="lock_timout"):
        load_settings(lock_timout=3)


def test_unsupported_database_url_is_clear(tmp_path: Path) -> None:
    import jobmill
    from jobmill import runtime

    jobmill.configure(database_url="mysql://localhost/x")
    try:
        with pytest.raises(ConfigurationError, match="'mysql' is not supported"):
            runtime.get_store()
    finally:
        runtime.reset()
