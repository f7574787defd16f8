"""A PgBouncer in transaction mode of the tests' own, in front of the test
PostgreSQL server: one pooled database (an alias) per schema under test.

The server connections of an alias are made as ``postgres`` with the alias's
schema as their ``search_path`` (PgBouncer passes no ``options`` through), so
each test's tables stay apart as they do on a direct connection.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

# Server connections per alias: more than one, so that a client's transactions
# move between them (which is what breaks session state).
POOL_SIZE = 4
BINARY = "/usr/sbin/pgbouncer"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def install_if_missing() -> str | None:
    """Install Debian's pgbouncer in CI when it is missing; the reason it is
    unavailable, or None."""
    if os.access(BINARY, os.X_OK):
        return None
    if os.environ.get("CI") == "true":
        environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-q", "pgbouncer"], env=environment)
    if os.access(BINARY, os.X_OK):
        return None
    return f"PgBouncer is not installed ({BINARY}): apt-get install -y pgbouncer"


class PgBouncer:
    """A pgbouncer process on a free loopback port, in transaction mode."""

    def __init__(self, server_url: str) -> None:
        server = make_url(server_url)
        self.server = f"host={server.host} port={server.port or 5432} dbname={server.database}"
        # pgbouncer refuses to run as root; it then runs as postgres, which
        # must read its files.
        self.directory = Path(tempfile.mkdtemp(prefix="jobmill-pgbouncer-"))
        self.directory.chmod(0o777)
        self.port = free_port()
        self.aliases: dict[str, str] = {}
        self._write_config()
        command = [BINARY, str(self.config)]
        if os.geteuid() == 0:
            command[1:1] = ["-u", "postgres"]
        self.process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
        self._wait_until_up("pgbouncer")

    @property
    def config(self) -> Path:
        return self.directory / "pgbouncer.ini"

    @property
    def log(self) -> Path:
        return self.directory / "pgbouncer.log"

    def _write_config(self) -> None:
        databases = "\n".join(
            f"{alias} = {self.server} user=postgres connect_query='SET search_path TO {schema}'"
            for alias, schema in self.aliases.items()
        )
        self.config.write_text(
            f"[databases]\n{databases}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            "auth_type = any\nadmin_users = postgres\n"
            f"pool_mode = transaction\ndefault_pool_size = {POOL_SIZE}\n"
            "max_client_conn = 1000\nignore_startup_parameters = extra_float_digits\n"
            f"logfile = {self.log}\n"
        )
        self.config.chmod(0o644)

    def url(self, alias: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{alias}"

    def add_database(self, schema: str) -> str:
        """A URL through the pooler whose sessions use ``schema``."""
        self.aliases[schema] = schema
        self._write_config()
        self.process.send_signal(signal.SIGHUP)  # reload the configuration
        self._wait_until_up(schema)
        return self.url(schema)

    def remove_database(self, schema: str) -> None:
        self.aliases.pop(schema, None)
        self._write_config()
        self.process.send_signal(signal.SIGHUP)

    def _wait_until_up(self, alias: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited: {self.log.read_text()}")
            try:
                psycopg.connect(self._dsn(alias), autocommit=True, connect_timeout=2).close()
                return
            except psycopg.Error:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _dsn(self, alias: str) -> str:
        return f"host=127.0.0.1 port={self.port} dbname={alias} user=postgres"

    def show(self, what: str) -> list[dict[str, object]]:
        """Rows of the admin console's ``SHOW what``."""
        with psycopg.connect(self._dsn("pgbouncer"), autocommit=True) as conn:
            cursor = conn.execute(f"SHOW {what}")
            names = [column.name for column in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def session_state(self, alias: str) -> list[tuple[int, list[str], str]]:
        """For every server connection of ``alias``'s pool: the prepared
        statements and the LISTEN channels its session holds, and its
        ``enable_sort`` (which steering a session would leave off). All are
        held at once by transactions of their own, so each is visited once."""
        with ExitStack() as stack:
            clients = [
                stack.enter_context(psycopg.connect(self._dsn(alias), prepare_threshold=None))
                for _ in range(POOL_SIZE)
            ]
            found = []
            for client in clients:  # each opens a transaction and keeps it
                prepared = client.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()
                channels = client.execute("SELECT pg_listening_channels()").fetchall()
                sort = client.execute("SELECT current_setting('enable_sort')").fetchone()
                found.append(
                    (int(prepared[0]), [str(row[0]) for row in channels], str(sort[0]))  # type: ignore[index]
                )
            return found

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        shutil.rmtree(self.directory, ignore_errors=True)
