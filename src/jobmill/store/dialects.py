"""The one place where SQLite and PostgreSQL differ.

Every statement is shared except what is named here: engine set-up (SQLite:
WAL, busy timeout, ``BEGIN IMMEDIATE``), how claim candidates are locked
(PostgreSQL: ``FOR UPDATE SKIP LOCKED`` in a MATERIALIZED CTE; SQLite has one
writer, so the immediate transaction is the lock), insert-or-ignore, wake-ups
(PostgreSQL ``NOTIFY`` and a listener; SQLite polls), how new jobs' rows
reach the driver (the placeholder; SQLite: one autocommit INSERT or an
executemany; PostgreSQL: one statement that inserts and notifies, or a COPY),
whether the schema is upgraded on first use, which extra installs the driver,
and whether a session outlives its transaction (not behind PgBouncer in
transaction mode: then nothing is prepared, steered or listened for beyond one
transaction).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from functools import cached_property
from typing import Any, Protocol

from sqlalchemy import (
    JSON,
    ColumnElement,
    Connection,
    Engine,
    FromClause,
    Select,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    column,
    event,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.selectable import Alias
from sqlalchemy.types import TypeEngine

from jobmill.errors import ConfigurationError
from jobmill.storable import load_json
from jobmill.store.inserts import COPY_NEW_ROWS, InsertStatements, NewRows
from jobmill.store.schema import jobs

# The NOTIFY channel: one per schema holding the ``jobs`` table, so tenants
# sharing a database (a schema each) do not wake each other's workers. It is
# resolved by the server through the session's search_path, like every
# unqualified table name jobmill uses. Channel names stop at 63 bytes: longer
# ones are hashed.
NOTIFY_CHANNEL_SQL = (
    "(SELECT CASE WHEN octet_length(c) <= 63 THEN c ELSE 'jobmill:' || md5(c) END"
    " FROM (SELECT 'jobmill:' || relnamespace::regnamespace::text AS c"
    " FROM pg_class WHERE oid = 'jobs'::regclass) AS channel)"
)
NOTIFY_QUEUES = "SELECT pg_notify(%s, queue) FROM unnest(%s::text[]) AS queue"
READ_ONLY = "jobmill_read_only"
# A pooled PostgreSQL connection used this recently is taken to be alive; one
# idle for longer is pinged before use. A ping at every checkout would double
# the round trips of an enqueue, which is a single statement.
PING_AFTER_IDLE = 1.0
IDLE_SINCE = "jobmill_idle_since"

# Connection options applied unless the URL sets them: the name shows jobmill's
# sessions in pg_stat_activity, and keepalives make a connection to a host
# that vanished (workers on other machines) fail in about a minute instead
# of hanging until the kernel gives up. psycopg prepares a statement on the
# server once a connection has run it this many times; None turns that off
# (what PgBouncer in transaction mode needs: a session's prepared statements
# do not follow it from one server connection to the next).
PG_POOLERS = ("none", "session", "transaction")
POSTGRES_CONNECT_DEFAULTS: dict[str, Any] = {
    "prepare_threshold": 5,
    "application_name": "jobmill",
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}


class Listener(Protocol):
    """Hears of jobs enqueued by other processes: ``callback(queue)``, from a thread."""

    def start(self, callback: Callable[[str], None]) -> None: ...

    def stop(self) -> None: ...


# The columns of a batch of rows a statement writes: (name, SQL type).
BatchColumns = Sequence[tuple[str, TypeEngine[Any]]]


class ChangeWatch(Protocol):
    """Tells cheaply whether another connection committed since it last looked."""

    def changed(self) -> bool: ...

    def close(self) -> None: ...


class Dialect:
    """Behaviour shared by every backend; subclasses override the named gaps."""

    # Whether a worker with only a hint of ready jobs reads before it claims:
    # where writers queue for one lock (SQLite), a read is cheaper than a claim.
    looks_before_claiming = False
    # Whether a worker's round (completions and the next claim) is one
    # statement on an autocommit connection (``store.rounds``), or a transaction.
    writes_round_in_one_statement = False
    # How many of a worker's rounds may be on their way to the database at
    # once: one where writers take turns (SQLite), more where a round's wait
    # is a round trip another can overlap.
    worker_lanes = 1
    # Whether what a connection sets for its session (planner settings,
    # prepared statements, LISTEN) lasts from one transaction to the next.
    keeps_sessions = True
    # Why enqueues in other processes are not listened for where the database
    # could notify (the worker says so once, and polls).
    not_listening_because: str | None = None

    name = "generic"
    insert_factory: Any = None
    # Upgraded on first use unless the settings say otherwise (``auto_upgrade``).
    upgrades_automatically = False
    # The ``jobmill[...]`` extra that installs the driver, if one does.
    extra: str | None = None
    # How the driver marks a positional parameter in a statement's text.
    placeholder = "?"
    # Whether enqueueing keeps driver connections of its own rather than take
    # one from the pool each time (``store/driver.py``).
    keeps_driver_connections = False

    @cached_property
    def statements(self) -> InsertStatements:
        """The enqueue statements, built once."""
        return InsertStatements.with_placeholder(self.placeholder)

    def engine_options(self, pool_size: int) -> dict[str, Any]:
        return {}

    def prepare_engine(self, engine: Engine) -> None:
        """Install connection hooks (pragmas, transaction mode)."""

    def write_gate(self) -> AbstractContextManager[Any]:
        """Held around each write transaction this process opens."""
        return nullcontext()

    def claim_source(self, index: str) -> FromClause:
        """The jobs table as a claim reads it, through ``index``."""
        return jobs.alias("candidate")

    def any_of(self, column: ColumnElement[str], name: str) -> ColumnElement[bool]:
        """``column`` is one of the texts bound as ``:name`` (``texts_param``).
        Where the database can, the statement's text stays the same whatever
        their number (an expanding IN is rendered again for each call)."""
        return column.in_(bindparam(name, expanding=True))

    def texts_param(self, texts: Sequence[str]) -> Any:
        """The value of an ``any_of`` parameter."""
        return list(texts)

    def lock_candidates(self, candidates: Select[Any], name: str) -> FromClause:
        """The claim's candidate rows, locked against other claimers if the
        database needs it."""
        return candidates.subquery(name)

    def steer_planner(self, connection: Connection, session: bool = False) -> None:
        """Called first in a transaction that claims jobs or writes outcomes in
        batches (or, with ``session``, once on a connection kept for them), so
        that their plans do not depend on statistics."""

    def unsteer_planner(self, connection: Connection) -> None:
        """Undo ``steer_planner(connection, session=True)`` before the connection
        goes back to the pool."""

    def insert_ignoring_conflicts(
        self, table: Table, index_elements: list[str], where: Any = None
    ) -> Insert:
        """INSERT into ``table`` that silently skips rows violating the given
        (partial, with ``where``) unique index."""
        stmt = self.insert_factory(table)
        return stmt.on_conflict_do_nothing(index_elements=index_elements, index_where=where)  # type: ignore[no-any-return]

    def insert_new_rows(
        self, engine: Engine, dbapi_connection: Any, batches: Sequence[NewRows], queues: set[str]
    ) -> None:
        """Insert ``batches`` and commit, on an idle driver connection from
        ``engine``'s pool; listening workers of ``queues`` wake once it commits."""
        raise NotImplementedError

    def notify(self, connection: Connection, queues: set[str]) -> None:
        """Wake listening workers once the transaction commits."""

    def listener(self, url: URL) -> Listener | None:
        """Something that hears of enqueues in other processes, or None (poll)."""
        return None

    def change_watch(self, engine: Engine) -> ChangeWatch | None:
        """Where there is no listener: a cheap way to notice other processes'
        commits between polls, or None."""
        return None

    def batch_source(self, columns: BatchColumns) -> FromClause:
        """A FROM item ``v`` yielding rows of the named ``columns`` ((name, type);
        JSON values come as text and are read as JSON), bound by
        ``batch_params``: one statement, built once, writes any number of rows."""
        raise NotImplementedError

    def batch_params(self, columns: BatchColumns, rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
        """The parameters of ``batch_source(columns)`` for ``rows``."""
        raise NotImplementedError

    def seconds_between(self, start: Any, end: Any) -> ColumnElement[Any]:
        """``end - start`` in seconds, for two timestamp columns."""
        return func.extract("epoch", end - start)


class IndexedAlias(Alias):
    """An alias of a table that SQLite reads through one named index."""

    __visit_name__ = "indexed_alias"
    inherit_cache = True
    index = ""


@compiles(IndexedAlias)
def _compile_indexed_alias(element: IndexedAlias, compiler: Any, **kw: Any) -> str:
    text = str(compiler.visit_alias(element, **kw))
    return f"{text} INDEXED BY {element.index}" if kw.get("asfrom") else text


class DataVersionWatch:
    """SQLite's ``PRAGMA data_version`` on a connection of its own: it changes
    when any other connection commits (about 3 µs a look)."""

    def __init__(self, engine: Engine) -> None:
        self._connection = engine.raw_connection()
        self._connection.detach()  # held for the worker's life, outside the pool
        self._last = self._version()

    def _version(self) -> Any:
        cursor = self._connection.cursor()
        try:
            cursor.execute("PRAGMA data_version")
            row: Any = cursor.fetchone()
            return row[0]
        finally:
            cursor.close()

    def changed(self) -> bool:
        try:
            version = self._version()
        except Exception:
            return True  # let the caller look (and meet the error there)
        changed: bool = version != self._last
        self._last = version
        return changed

    def close(self) -> None:
        self._connection.close()


class SQLiteDialect(Dialect):
    name = "sqlite"
    looks_before_claiming = True
    insert_factory = staticmethod(sqlite.insert)
    upgrades_automatically = True
    # A connection is a file handle, and a pool checkout costs as much as the
    # insert. (A PostgreSQL connection is a server process: it stays pooled.)
    keeps_driver_connections = True

    def __init__(self, driver: str) -> None:
        self.driver = driver
        self.extra = "libsql" if driver == "libsql" else None
        self._writer = threading.RLock()

    def write_gate(self) -> AbstractContextManager[Any]:
        # SQLite has one writer. Threads of one process queue here instead of
        # colliding in SQLite's busy handler, which sleeps in coarse steps.
        return self._writer

    def insert_new_rows(
        self, engine: Engine, dbapi_connection: Any, batches: Sequence[NewRows], queues: set[str]
    ) -> None:
        rows = itertools.chain.from_iterable(batch.tuples() for batch in batches)
        cursor = dbapi_connection.cursor()
        if sum(len(batch.ids) for batch in batches) == 1:
            # A single statement is a transaction of its own: no BEGIN, no COMMIT.
            cursor.execute(self.statements.insert, next(rows))
            return
        cursor.execute("BEGIN IMMEDIATE")
        # libSQL's executemany takes a list only; sqlite3's takes the rows as made.
        cursor.executemany(self.statements.insert, list(rows) if self.driver == "libsql" else rows)
        dbapi_connection.commit()

    def engine_options(self, pool_size: int) -> dict[str, Any]:
        # Text a JSON column holds is decoded by jobmill: one row of broken JSON
        # (a raw SQL insert) must not fail every query that reads it.
        if self.driver == "libsql":
            # libSQL's connection has a read-only isolation_level and no timeout.
            return {"connect_args": {"isolation_level": None}, "json_deserializer": load_json}
        return {"connect_args": {"timeout": 30.0}, "json_deserializer": load_json}

    def prepare_engine(self, engine: Engine) -> None:
        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            if self.driver != "libsql":
                # Hand transaction control to SQLAlchemy's begin hook below.
                dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            for pragma in (
                "PRAGMA journal_mode=WAL",
                "PRAGMA synchronous=NORMAL",
                "PRAGMA foreign_keys=ON",
                "PRAGMA busy_timeout=30000",
            ):
                cursor.execute(pragma)
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Connection) -> None:
            # A deferred transaction that reads and then writes cannot wait for
            # the write lock ("database is locked" at once, busy timeout or
            # not), so writers take it up front. Reads stay deferred.
            read_only = connection.get_execution_options().get(READ_ONLY, False)
            connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    def batch_source(self, columns: BatchColumns) -> FromClause:
        # One JSON array of rows, read back by json_each.
        picks = [
            func.json_extract(literal_column("value"), literal_column(f"'$[{n}]'")).label(name)
            for n, (name, _) in enumerate(columns)
        ]
        return select(*picks).select_from(func.json_each(bindparam("batch_rows"))).subquery("v")

    def batch_params(self, columns: BatchColumns, rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
        return {"batch_rows": json.dumps(rows)}

    def any_of(self, column: ColumnElement[str], name: str) -> ColumnElement[bool]:
        # One JSON array, read back by json_each.
        texts: Select[Any] = select(literal_column("value")).select_from(
            func.json_each(bindparam(name))
        )
        return column.in_(texts.scalar_subquery())

    def texts_param(self, texts: Sequence[str]) -> Any:
        return json.dumps(list(texts))

    def change_watch(self, engine: Engine) -> ChangeWatch | None:
        # Workers in other processes would otherwise find a new job only at
        # their next poll (a second by default).
        return DataVersionWatch(engine)

    def claim_source(self, index: str) -> FromClause:
        # Without statistics (no ANALYZE has run, as on every new database)
        # SQLite picked another index and sorted every pending row in a
        # temporary B-tree: 30 ms a claim with 100,000 pending. INDEXED BY
        # makes the claim read its index in order, whatever the statistics.
        source = IndexedAlias._construct(jobs, name="candidate")
        source.index = index
        return source

    def seconds_between(self, start: Any, end: Any) -> ColumnElement[Any]:
        # SQLite stores timestamps as text and has no interval type.
        return (func.julianday(end) - func.julianday(start)) * 86400.0


# The planner settings a worker's claims and batches run with (steer_planner).
_STEERED = ("enable_sort", "enable_bitmapscan", "enable_hashjoin", "enable_seqscan", "jit")


class PostgresDialect(Dialect):
    name = "postgresql"
    worker_lanes = 2
    insert_factory = staticmethod(postgresql.insert)
    extra = "postgres"
    placeholder = "%s"

    def __init__(self, pooler: str = "none") -> None:
        self._channels: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()
        self.connect_defaults = dict(POSTGRES_CONNECT_DEFAULTS)
        # Behind a pooler in transaction mode, each transaction may run on
        # another server connection, and whatever a session set there stays
        # behind for the next client: every transaction is self-contained.
        self.keeps_sessions = pooler != "transaction"
        # The one-statement round runs on a session steered once.
        self.writes_round_in_one_statement = self.keeps_sessions
        if not self.keeps_sessions:
            self.connect_defaults["prepare_threshold"] = None
            self.not_listening_because = (
                "pg_pooler is 'transaction': LISTEN needs a session of its own"
            )

    @cached_property
    def _insert_and_notify(self) -> str:
        return (
            f"WITH inserted AS ({self.statements.insert} RETURNING queue)"
            " SELECT pg_notify(%s, queue) FROM inserted"
        )

    def engine_options(self, pool_size: int) -> dict[str, Any]:
        return {"pool_size": pool_size, "max_overflow": pool_size}

    def prepare_engine(self, engine: Engine) -> None:
        @event.listens_for(engine, "do_connect")
        def _on_connect(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
            for name, value in self.connect_defaults.items():
                cparams.setdefault(name, value)

        @event.listens_for(engine, "checkin")
        def _on_checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
            record.info[IDLE_SINCE] = time.monotonic()

        @event.listens_for(engine, "checkout")
        def _on_checkout(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
            # A connection that died while idle in the pool (a server restart,
            # pg_terminate_backend, a failover) is replaced before it is handed
            # out, and so is every connection pooled before it.
            idle_since = record.info.get(IDLE_SINCE)
            if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE:
                return
            try:
                engine.dialect.do_ping(dbapi_connection)
            except Exception as exc:
                lost = InvalidatePoolError(f"pooled connection lost: {exc}")
                raise lost from exc

    def any_of(self, column: ColumnElement[str], name: str) -> ColumnElement[bool]:
        # One array, whatever its length.
        return column == any_(bindparam(name, type_=ARRAY(Text())))

    def lock_candidates(self, candidates: Select[Any], name: str) -> FromClause:
        # MATERIALIZED keeps the planner from inlining the CTE, so the LIMIT
        # bounds the rows locked and updated.
        source = candidates.get_final_froms()[0]
        return (
            candidates.with_for_update(skip_locked=True, of=source)
            .cte(name)
            .prefix_with("MATERIALIZED")
        )

    def steer_planner(self, connection: Connection, session: bool = False) -> None:
        # Before autoanalyze has seen a burst of new jobs, the planner guesses
        # that few rows are pending and sorts them all rather than read a claim
        # index in order (100 ms instead of 0.3 ms with 100,000 pending); it
        # also finds a batch's running rows through the index of running jobs,
        # whose entries for jobs that finished since the last vacuum it must
        # all visit (5 ms for 20 rows after 20,000 jobs), rather than by id.
        # With sorts, bitmap scans, hash joins and sequential scans priced out for this
        # transaction, claims read a claim index in order and batches look
        # rows up by primary key, whatever the statistics say. Those prices
        # would make the plans look costly enough to compile them to machine
        # code, which takes longer than running them: no JIT.
        local = "false" if session else "true"
        settings = [f"set_config('{name}', 'off', {local})" for name in _STEERED]
        if session:
            # The worker's rounds read rows on the driver's own connection:
            # timestamps in UTC come as datetime.UTC, needing no conversion.
            settings.append("set_config('TimeZone', 'UTC', false)")
        connection.exec_driver_sql("SELECT " + ", ".join(settings))

    def unsteer_planner(self, connection: Connection) -> None:
        for name in (*_STEERED, "TimeZone"):
            connection.exec_driver_sql(f"RESET {name}")
        if connection.in_transaction():
            connection.commit()

    def batch_source(self, columns: BatchColumns) -> FromClause:
        # One array per column, unnested side by side; JSON comes as text.
        arrays = [
            cast(bindparam(f"batch_{name}", type_=ARRAY(Text())), ARRAY(JSONB()))
            if isinstance(kind, JSON)
            else bindparam(f"batch_{name}", type_=ARRAY(kind))
            for name, kind in columns
        ]
        names = [
            column(name, JSONB() if isinstance(kind, JSON) else kind) for name, kind in columns
        ]
        return func.unnest(*arrays).table_valued(*names).render_derived(name="v")

    def batch_params(self, columns: BatchColumns, rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
        return {f"batch_{name}": [row[n] for row in rows] for n, (name, _) in enumerate(columns)}

    def channel(self, engine: Engine, dbapi_connection: Any) -> str:
        """The NOTIFY channel of ``engine``'s sessions, asked of the server once."""
        channel = self._channels.get(engine)
        if channel is None:
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f"SELECT {NOTIFY_CHANNEL_SQL}")
                channel = self._channels[engine] = str(cursor.fetchone()[0])
        return channel

    def insert_new_rows(
        self, engine: Engine, dbapi_connection: Any, batches: Sequence[NewRows], queues: set[str]
    ) -> None:
        if len(batches) == 1 and len(batches[0].ids) == 1:
            # One job, one round trip: a statement that inserts and notifies,
            # committed alone (the notification is delivered on commit).
            # (A connection that fails meanwhile is discarded, autocommit and all.)
            [row] = batches[0].tuples()
            dbapi_connection.autocommit = True
            channel = self.channel(engine, dbapi_connection)
            dbapi_connection.execute(self._insert_and_notify, (*row, channel))
            dbapi_connection.autocommit = False
            return
        with dbapi_connection.cursor() as cursor:
            with cursor.copy(COPY_NEW_ROWS) as copy:
                for batch in batches:
                    copy.write(batch.copy_text())
            channel = self.channel(engine, dbapi_connection)
            cursor.execute(NOTIFY_QUEUES, (channel, sorted(queues)))
        dbapi_connection.commit()

    def notify(self, connection: Connection, queues: set[str]) -> None:
        channel = self.channel(connection.engine, connection.connection.dbapi_connection)
        connection.exec_driver_sql(NOTIFY_QUEUES, (channel, sorted(queues)))

    def listener(self, url: URL) -> Listener | None:
        if not self.keeps_sessions:
            return None
        from jobmill.store.listen import PostgresListener

        return PostgresListener(url)


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def dialect_for(url: str, pg_pooler: str = "none") -> Dialect:
    """The seam for a database URL (and the ``pg_pooler`` setting, which only
    PostgreSQL reads), or a clear error for an unsupported one."""
    if pg_pooler not in PG_POOLERS:
        raise ConfigurationError(
            f"pg_pooler: {pg_pooler!r} is not one of {', '.join(map(repr, PG_POOLERS))}"
        )
    parsed = make_url(url)
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    if backend == "sqlite":
        return SQLiteDialect(driver)
    if backend == "postgresql":
        if driver != "psycopg":
            raise ConfigurationError(
                f"database_url: driver {driver!r} is not supported; use postgresql+psycopg://"
            )
        return PostgresDialect(pg_pooler)
    raise ConfigurationError(
        f"database_url: {backend!r} is not supported; use sqlite:///FILE or postgresql://..."
    )
