"""Build jobmill's wheel and sdist, install each in a fresh virtualenv, and use it.

Run by ``make package`` (and CI). For each artifact: install it (the wheel with
every extra) at the locked versions, then, from a directory outside the
repository, run ``jobmill --help``, enqueue a job and run it with
``jobmill worker --burst`` (SQLite, and PostgreSQL when reachable; in CI it must
be), and fetch the dashboard's pages and assets. The wheel must hold the
migrations, templates, static assets and ``py.typed``; every extra must import.
Exits 1 naming the first check that failed.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
import uuid
import venv
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "lock.txt"
DIST = ROOT / "dist"
PG_URL = os.environ.get("JOBMILL_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# Every extra but dev, which `make venv` installs for the suite itself.
EXTRAS = "postgres,libsql,examples,docs"
EXTRA_MODULES = {
    "postgres": ["psycopg", "psycopg_pool"],
    "libsql": ["sqlalchemy_libsql", "libsql_experimental"],
    "examples": ["pydantic_ai", "fastapi", "django", "flask"],
    "docs": ["mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python"],
}
WHEEL_MUST_HOLD = [
    "jobmill/py.typed",
    "jobmill/migrations/env.py",
    "jobmill/migrations/script.py.mako",
    "jobmill/migrations/versions/0001_initial.py",
    "jobmill/dashboard/templates/base.html",
    "jobmill/dashboard/static/dashboard.css",
    "jobmill/dashboard/static/htmx.min.js",
]
SDIST_MUST_HOLD = ["LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml", "src/jobmill/py.typed"]
SMOKE_JOBS = """
from pydantic import BaseModel
from jobmill import Job

class DoubleParams(BaseModel):
    n: int

class DoubleJob(Job[DoubleParams, int]):
    def perform(self, params: DoubleParams) -> int:
        self.update_progress(50, "halfway")
        return params.n * 2
"""


class CheckFailed(Exception):
    """A smoke check did not hold; the message says which and why."""


def main() -> int:
    try:
        wheel, sdist = build()
        check_wheel_contents(wheel)
        check_sdist_contents(sdist)
        pg = postgres_available()
        for artifact, extras in ((wheel, EXTRAS), (sdist, "postgres")):
            with tempfile.TemporaryDirectory(prefix="jobmill-package-") as scratch:
                check_install(artifact, extras, Path(scratch), pg)
    except CheckFailed as exc:
        print(f"package check FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"package check passed: {wheel.name} and {sdist.name} install and run")
    return 0


def build() -> tuple[Path, Path]:
    shutil.rmtree(DIST, ignore_errors=True)
    # The build backend comes from the lock too, like every other tool.
    env = {**os.environ, "PIP_CONSTRAINT": str(LOCK), "PIP_BUILD_CONSTRAINT": str(LOCK)}
    run([sys.executable, "-m", "build", "--outdir", str(DIST), str(ROOT)], env=env)
    wheels, sdists = list(DIST.glob("*.whl")), list(DIST.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        raise CheckFailed(f"expected one wheel and one sdist in {DIST}, got {wheels + sdists}")
    return wheels[0], sdists[0]


def check_wheel_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [name for name in WHEEL_MUST_HOLD if name not in names]
    if missing:
        raise CheckFailed(f"{wheel.name} lacks {missing}")
    strays = sorted(n for n in names if n.split("/")[0] != "jobmill" and ".dist-info/" not in n)
    if strays:
        raise CheckFailed(f"{wheel.name} holds files outside the jobmill package: {strays[:5]}")
    print(f"ok  {wheel.name}: {len(names)} files, migrations, templates, assets, py.typed")


def check_sdist_contents(sdist: Path) -> None:
    with tarfile.open(sdist) as tar:
        top = sdist.name.removesuffix(".tar.gz")
        names = {name.removeprefix(f"{top}/") for name in tar.getnames()}
    missing = [name for name in SDIST_MUST_HOLD if name not in names]
    if missing:
        raise CheckFailed(f"{sdist.name} lacks {missing}")
    print(f"ok  {sdist.name}: {len(names)} files")


def check_install(artifact: Path, extras: str, scratch: Path, pg: bool) -> None:
    env_dir = scratch / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    target = f"jobmill[{extras}] @ {artifact.as_uri()}"
    pip = [str(bin_dir / "python"), "-m", "pip", "install", "--quiet"]
    run([*pip, "--upgrade", "--constraint", str(LOCK), "pip"])
    run([*pip, "--constraint", str(LOCK), "--build-constraint", str(LOCK), target])
    work = scratch / "work"
    work.mkdir()
    (work / "smoke_jobs.py").write_text(SMOKE_JOBS)
    python = str(bin_dir / "python")
    where = run([python, "-c", "import jobmill; print(jobmill.__file__)"], cwd=work)
    if not where.startswith(str(env_dir)):
        raise CheckFailed(f"jobmill imported from {where}, not from the fresh virtualenv")
    for extra in filter(None, extras.split(",")):
        modules = EXTRA_MODULES[extra]
        run([python, "-c", "; ".join(f"import {m}" for m in modules)], cwd=work)
        print(f"ok  {artifact.name}: extra {extra!r} imports {', '.join(modules)}")
    jobmill = str(bin_dir / "jobmill")
    if "worker" not in run([jobmill, "--help"], cwd=work):
        raise CheckFailed("jobmill --help does not list the worker command")
    check_job_runs(python, jobmill, work, f"sqlite:///{work / 'smoke.db'}")
    if pg:
        with pg_schema() as url:
            run([jobmill, "db", "upgrade"], cwd=work, env=job_env(work, url))
            check_job_runs(python, jobmill, work, url)
    check_dashboard(jobmill, work, f"sqlite:///{work / 'smoke.db'}")
    databases = "SQLite and PostgreSQL" if pg else "SQLite"
    print(f"ok  {artifact.name}: --help; worker --burst ran the job on {databases}; dashboard")


def check_job_runs(python: str, jobmill: str, work: Path, url: str) -> None:
    env = job_env(work, url)
    enqueue = "import smoke_jobs; print(smoke_jobs.DoubleJob.later(n=21))"
    job_id = run([python, "-c", enqueue], cwd=work, env=env)
    run([jobmill, "worker", "--burst", "--import", "smoke_jobs"], cwd=work, env=env)
    record = json.loads(run([jobmill, "status", job_id, "--json"], cwd=work, env=env))
    if (record["status"], record["result"]) != ("completed", 42):
        raise CheckFailed(f"job {job_id} on {url.split(':')[0]} ended {record}")


def check_dashboard(jobmill: str, work: Path, url: str) -> None:
    port = free_port()
    command = [jobmill, "--import", "smoke_jobs", "dashboard", "--port", str(port)]
    server = subprocess.Popen(
        command, cwd=work, env=job_env(work, url), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        base = f"http://127.0.0.1:{port}"
        page = fetch(f"{base}/", server)
        if "DoubleJob" not in fetch(f"{base}/jobs", server) or "<html" not in page:
            raise CheckFailed("the dashboard's pages do not show the smoke job")
        for asset in ("dashboard.css", "htmx.min.js"):
            fetch(f"{base}/static/{asset}", server)
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode(errors="replace")
    if server.returncode not in (0, -15):
        raise CheckFailed(f"jobmill dashboard exited {server.returncode}:\n{output}")


def fetch(url: str, server: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return str(response.read().decode())
        except OSError as exc:
            if server.poll() is not None:
                output = server.communicate()[0].decode(errors="replace")
                message = f"jobmill dashboard exited {server.returncode}:\n{output}"
                raise CheckFailed(message) from exc
            if time.monotonic() > deadline:
                raise CheckFailed(f"GET {url} failed: {exc}") from exc
            time.sleep(0.2)


def job_env(work: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBMILL_", "VIRTUAL_ENV"))}
    return {**env, "JOBMILL_DATABASE_URL": url, "PYTHONPATH": str(work), "NO_COLOR": "1"}


def postgres_available() -> bool:
    probe = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-c", "SELECT 1"]
    try:
        ok = subprocess.run(probe, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    if not ok and os.environ.get("CI") == "true":
        raise CheckFailed("CI requires PostgreSQL at 127.0.0.1:5432 (database test)")
    if not ok:
        print("skip PostgreSQL smoke checks: no server at 127.0.0.1:5432")
    return ok


@contextmanager
def pg_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema for one check, dropped afterwards; yields its URL."""
    name = f"pkg_{uuid.uuid4().hex[:12]}"
    psql(f'CREATE SCHEMA "{name}"')
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{name}"
    finally:
        psql(f'DROP SCHEMA "{name}" CASCADE')


def psql(sql: str) -> None:
    run(["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-c", sql])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(
    command: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise CheckFailed(f"`{' '.join(command)}` exited {result.returncode}:\n{output}")
    return result.stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
