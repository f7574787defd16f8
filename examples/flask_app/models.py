"""The newsletter's tables and sessions, on jobmill's database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker


class Base(DeclarativeBase):
    pass


class Subscriber(Base):
    __tablename__ = "newsletter_subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(unique=True)
    welcome_job_id: Mapped[str | None]
    welcomed: Mapped[bool] = mapped_column(default=False)


_sessions: dict[str, sessionmaker[Any]] = {}


def sessions_for(url: str) -> sessionmaker[Any]:
    """Sessions on ``url`` (the tables created on first use), one engine per URL."""
    if url not in _sessions:
        engine = make_engine(url)
        Base.metadata.create_all(engine)
        _sessions[url] = sessionmaker(engine)
    return _sessions[url]


def dispose_engines() -> None:
    """Close every engine this process opened (tests, shutdown)."""
    while _sessions:
        _, factory = _sessions.popitem()
        factory.kw["bind"].dispose()


def make_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    # One writer at a time on SQLite, and the worker writes here too: take the
    # write lock up front and wait for it, rather than fail half-way.
    engine = create_engine(url, connect_args={"timeout": 30.0})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA journal_mode=WAL")

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
