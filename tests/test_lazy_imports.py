"""What start-up loads. ``import jobmill`` and the command line's help import no
database, web or worker code: a command imports what it needs when it runs.
(How long start-up takes is measured by ``make bench``, not asserted here.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import jobmill
from jobmill.store import Store
from jobmill.store.engine import upgrade

HEAVY = (
    "sqlalchemy",
    "alembic",
    "psycopg",
    "starlette",
    "jinja2",
    "uvicorn",
    "jobmill.store",
    "jobmill.dispatch",
    "jobmill.worker",
    "jobmill.dashboard",
)
RUN_THE_CLI = """
from jobmill.cli import main
try:
    main()
except SystemExit:
    pass
"""


def heavy_modules_after(code: str, *argv: str) -> list[str]:
    """The ``HEAVY`` modules a fresh interpreter has loaded after running ``code``."""
    report = (
        f"\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code + report, *argv], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout.splitlines()[-1]))


def test_import_jobmill_loads_no_database_code() -> None:
    assert heavy_modules_after("import jobmill") == []
    assert heavy_modules_after("from jobmill import Job, JobStatus, InvalidParams") == []


@pytest.mark.parametrize(
    "argv", [(), ("--help",), ("help",), ("worker", "--help"), ("cron", "--help"), ("list", "-h")]
)
def test_help_loads_no_database_code(argv: tuple[str, ...]) -> None:
    assert heavy_modules_after(RUN_THE_CLI, *argv) == []


def test_a_command_loads_what_it_needs_when_it_runs(tmp_path: object) -> None:
    loaded = heavy_modules_after(RUN_THE_CLI, "list", "--json")
    assert "sqlalchemy" in loaded and "jobmill.store" in loaded


def test_enqueueing_on_an_up_to_date_database_loads_no_alembic(tmp_path: Path) -> None:
    # alembic took longer to import than the rest of the store: a process
    # whose database is up to date (no upgrade to run) never needs it.
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    upgrade(Store.from_url(url, auto_upgrade=True).engine)
    enqueue = f"""
import jobmill
from pydantic import BaseModel
class Params(BaseModel):
    n: int
class LazyImportJob(jobmill.Job[Params, None]):
    def perform(self, params: Params) -> None: ...
jobmill.configure(database_url={url!r})
LazyImportJob.later(n=1)
"""
    loaded = heavy_modules_after(enqueue)
    assert "jobmill.store" in loaded and "alembic" not in loaded


def test_every_public_name_resolves_to_its_definition() -> None:
    assert sorted(jobmill._EXPORTS) == sorted(jobmill.__all__)
    for name in jobmill.__all__:
        assert getattr(jobmill, name) is not None
        assert name in dir(jobmill)
    with pytest.raises(AttributeError, match="no attribute 'Jobb'"):
        _ = jobmill.Jobb  # type: ignore[attr-defined]


def test_submodules_named_like_functions_do_not_hide_them() -> None:
    # jobmill/job.py and jobmill/history.py beside jobmill.job and jobmill.history,
    # jobmill/cron/schedule.py beside jobmill.cron.schedule: imported first, in a
    # fresh interpreter, the submodules must not replace the functions.
    code = """
import sys
import jobmill.job, jobmill.history, jobmill.cron.schedule
import jobmill, jobmill.cron
assert jobmill.job is sys.modules["jobmill.job"].job, jobmill.job
assert jobmill.history is sys.modules["jobmill.commands"].history, jobmill.history
assert jobmill.cron.schedule is sys.modules["jobmill.cron.declare"].schedule
assert jobmill.cron is sys.modules["jobmill.cron"]
"""
    heavy_modules_after(code)


def test_the_overview_shows_the_database_url_without_its_password() -> None:
    from jobmill.cli.help import without_password

    assert without_password("postgresql://jobs:s3cr%40t@db:5432/app?sslmode=require") == (
        "postgresql://jobs:***@db:5432/app?sslmode=require"
    )
    assert without_password("sqlite:///jobmill.db") == "sqlite:///jobmill.db"
