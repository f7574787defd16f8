"""The shop's database is jobmill's database: one URL for both.

The app passes its URL to ``jobmill.configure`` and to ``setup``; a worker
takes jobmill's (``JOBMILL_DATABASE_URL``), and its jobs' sessions use the
same. Sharing one database is what lets an order and its receipt job commit
in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from jobmill.runtime import get_settings

_state: dict[str, Any] = {}


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "shop_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(unique=True)  # one order per address, for the demo
    total_cents: Mapped[int]
    receipt_sent: Mapped[bool] = mapped_column(default=False)


# --8<-- [start:engine]
def setup(url: str | None = None) -> Engine:
    """The shop's engine for ``url`` (default: jobmill's ``database_url``), tables created."""
    url = url or get_settings().database_url
    if _state.get("url") == url:
        return _state["engine"]  # type: ignore[no-any-return]
    dispose()
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    _state.update(url=url, engine=engine, sessions=sessionmaker(engine))
    return engine


def make_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    # SQLite has one writer at a time, and jobmill's worker writes to this file
    # too: transactions take the write lock up front and wait for it.
    engine = create_engine(url, connect_args={"timeout": 30.0})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA journal_mode=WAL")

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


# --8<-- [end:engine]


@contextmanager
def session() -> Iterator[Session]:
    """A session on the shop's database, committed by the caller."""
    if "sessions" not in _state:
        setup()
    with _state["sessions"]() as db:
        yield db


def dispose() -> None:
    """Close the shop's engine (tests, shutdown)."""
    engine = _state.pop("engine", None)
    _state.clear()
    if engine is not None:
        engine.dispose()
