"""Settings: ``configure()`` in code, else ``JOBMILL_*`` variables, else
``[tool.jobmill]`` in ``pyproject.toml`` or a ``jobmill.toml``, else defaults."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    PyprojectTomlConfigSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from jobmill.errors import ConfigurationError

# A DNS name or an IPv4 address; an IPv6 address in brackets.
HOST_NAME = re.compile(r"^([A-Za-z0-9_]([A-Za-z0-9_.-]{0,251}[A-Za-z0-9_])?|\[[0-9A-Fa-f:.]+\])$")


class Settings(BaseSettings):
    """jobmill's settings. Each can be set as ``JOBMILL_<NAME>``."""

    model_config = SettingsConfigDict(
        env_prefix="JOBMILL_",
        pyproject_toml_table_header=("tool", "jobmill"),
        toml_file="jobmill.toml",
        extra="forbid",
        validate_default=True,
    )

    database_url: str = "sqlite:///jobmill.db"
    imports: Annotated[list[str], NoDecode] = Field(default_factory=list)
    lock_timeout: float = Field(300.0, gt=0)
    poll_interval: float = Field(1.0, gt=0)
    grace_period: float = Field(30.0, ge=0)
    progress_interval: float = Field(0.25, ge=0)
    concurrency: int = Field(10, ge=1)
    prefetch: int | None = Field(None, ge=0)  # None: paced by the worker
    auto_upgrade: bool | None = None  # None: as the database does (SQLite yes, PostgreSQL no)
    # What stands between jobmill and PostgreSQL: "transaction" (PgBouncer in
    # transaction mode) keeps every transaction self-contained and polls.
    pg_pooler: Literal["none", "session", "transaction"] = "none"
    dashboard_auth: str | None = None
    dashboard_secret: str | None = None
    # Host names (any port) a dashboard without auth answers besides loopback,
    # e.g. the one a reverse proxy forwards.
    dashboard_allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("imports", "dashboard_allowed_hosts", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("dashboard_allowed_hosts")
    @classmethod
    def _check_host_names(cls, names: list[str]) -> list[str]:
        for name in names:
            if not HOST_NAME.match(name):
                raise ValueError(
                    f"{name!r} is not a host name (e.g. jobs.example.com, without scheme, "
                    "port or path)"
                )
        return [name.lower() for name in names]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            PyprojectTomlConfigSettingsSource(settings_cls),
            TomlConfigSettingsSource(settings_cls),
        )


def load_settings(**overrides: Any) -> Settings:
    """Build settings from every source; an invalid value is reported by name."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"])
            problems.append(
                f"{name} (JOBMILL_{name.upper()}): {error['msg']}, got {error.get('input')!r}"
            )
        raise ConfigurationError("invalid jobmill setting: " + "; ".join(problems)) from None
