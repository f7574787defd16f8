"""Clear errors for the environment: a schema newer than this jobmill, a read-only
SQLite file, an outcome the database refused, and database errors whose SQL and
values must not end up in a stored error."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Column, MetaData, String, Table, create_engine, insert, text
from typer.testing import CliRunner

import jobmill
from jobmill import Job, JobStatus, runtime
from jobmill.cli import load_commands
from jobmill.errors import ConfigurationError
from jobmill.store import Store
from jobmill.store.engine import VERSION_TABLE, head_revision
from jobmill.worker import Worker

NEWER = "database schema 0099 is newer than this jobmill (head {head}): upgrade jobmill"
SECRET = "s3cret-value-7"


def pretend_newer(store: Store) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '0099'"))


@pytest.mark.parametrize("auto_upgrade", [True, False])
def test_a_schema_newer_than_this_jobmill_says_so(
    configured: Store, database_url: str, auto_upgrade: bool
) -> None:
    pretend_newer(configured)
    runtime.reset()
    jobmill.configure(database_url=database_url, auto_upgrade=auto_upgrade)
    with pytest.raises(ConfigurationError) as caught:
        runtime.get_store()
    assert str(caught.value) == NEWER.format(head=head_revision())


def test_cli_commands_on_a_newer_schema_exit_2_with_the_reason(configured: Store) -> None:
    pretend_newer(configured)
    runtime.reset()
    for args in (["list"], ["db", "upgrade"]):
        result = CliRunner().invoke(
            load_commands(), args, env={"JOBMILL_DATABASE_URL": str(configured.engine.url)}
        )
        assert result.exit_code == 2, result.output
        assert NEWER.format(head=head_revision()) in " ".join(result.stderr.split())
        assert "Traceback" not in result.output


def test_a_worker_on_a_read_only_sqlite_file_exits_1_with_the_reason(
    sqlite_configured: Store, tmp_path: Path
) -> None:
    path = sqlite_configured.engine.url.database
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBMILL_")}
    env["JOBMILL_DATABASE_URL"] = f"sqlite:///file:{path}?mode=ro&uri=true"
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), *sys.path])

    result = subprocess.run(
        [sys.executable, "-m", "jobmill", "worker", "--burst", "--import", "worker_jobs"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1, result.stderr
    assert "error: database error: attempt to write a readonly database" in result.stderr
    assert "retrying" not in result.stderr


class RefusedOutcomeJob(Job[None, str]):
    max_attempts = 1

    def perform(self, params: None) -> str:
        return "done"


REFUSE_COMPLETION = {
    "sqlite": [
        "CREATE TRIGGER refuse_completion BEFORE UPDATE OF status ON jobs "
        "WHEN NEW.status = 'completed' BEGIN SELECT RAISE(ABORT, 'completion refused'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_completion() RETURNS trigger AS $$ BEGIN "
        "IF NEW.status = 'completed' THEN RAISE EXCEPTION 'completion refused'; END IF; "
        "RETURN NEW; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER refuse_completion BEFORE UPDATE ON jobs "
        "FOR EACH ROW EXECUTE FUNCTION refuse_completion()",
    ],
}


def test_the_worker_log_says_failed_when_the_database_refused_the_completion(
    configured: Store, caplog: pytest.LogCaptureFixture
) -> None:
    job_id = RefusedOutcomeJob.later()
    with configured.engine.begin() as conn:
        for statement in REFUSE_COMPLETION[configured.dialect.name]:
            conn.execute(text(statement))
    caplog.set_level(logging.DEBUG, logger="jobmill")  # each attempt's line is at debug

    Worker(burst=True, scheduler=False, handle_signals=False).run()

    record = jobmill.get(job_id)
    assert record.status is JobStatus.FAILED
    assert "its outcome could not be stored" in (record.error or "")
    assert "completion refused" in (record.error or "")
    [line] = [r.getMessage() for r in caplog.records if " ran " in r.getMessage()]
    assert line.endswith(": failed"), line


class DatabaseErrorJob(Job[dict[str, str], None]):
    max_attempts = 1

    def perform(self, params: dict[str, str]) -> None:
        engine = create_engine(params["url"])
        table = Table("secrets", MetaData(), Column("k", String(50), primary_key=True))
        try:
            with engine.begin() as conn:
                table.create(conn, checkfirst=True)
                conn.execute(insert(table).values(k=SECRET))
                conn.execute(insert(table).values(k=SECRET))
        finally:
            engine.dispose()


def test_a_stored_error_holds_no_sql_statement_and_no_values(configured: Store) -> None:
    url = configured.engine.url.render_as_string(hide_password=False)
    with pytest.raises(jobmill.JobFailed) as caught:
        DatabaseErrorJob.now({"url": url})
    record = caught.value.metadata
    error, trace = record.error or "", record.error_traceback or ""
    assert error.startswith("IntegrityError: (")
    assert "\n" not in error
    for stored in (error, trace):
        assert "INSERT INTO" not in stored and "[SQL" not in stored
        assert SECRET not in stored  # nor PostgreSQL's DETAIL line, which quotes it
    assert "Traceback (most recent call last)" in trace
