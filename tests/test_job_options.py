"""Dispatch options are declared once (``jobmill.options.Options``): ``J.set`` and
``Dispatch.set`` take exactly its keys, at run time and for a type checker."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import get_type_hints

import pytest

import jobmill
from foundation_jobs import SendEmailJob
from jobmill.dispatch import Dispatch
from jobmill.options import CHECKS, Options


def test_every_option_has_a_check_and_nothing_else_is_accepted() -> None:
    names = list(get_type_hints(Options))
    assert (
        names
        == list(CHECKS)
        == [
            "queue",
            "priority",
            "delay",
            "run_at",
            "max_attempts",
            "timeout",
            "unique_key",
            "depends_on",
            "connection",
        ]
    )
    with pytest.raises(TypeError, match="unknown option qeueu; expected one of queue, priority"):
        SendEmailJob.set(qeueu="mail")  # type: ignore[call-arg]


def test_set_checks_accumulates_and_keeps_earlier_options() -> None:
    run_at = datetime(2030, 1, 1, 12, tzinfo=UTC)
    dispatch = (
        SendEmailJob.set(queue="q", delay=timedelta(minutes=1), depends_on=["a"])
        .set(priority=3, depends_on=("b",), queue=None)
        .set(run_at=run_at, timeout=2)
    )
    assert isinstance(dispatch, Dispatch)
    assert dispatch.options == {
        "queue": "q",
        "delay": 60.0,
        "depends_on": ("a", "b"),
        "priority": 3,
        "run_at": run_at,
        "timeout": 2.0,
    }


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"queue": " "}, "queue must be a non-empty string"),
        ({"max_attempts": 0}, "max_attempts must be an integer >= 1"),
        ({"timeout": -1}, "timeout must be positive"),
        ({"delay": -5}, "delay must not be negative"),
        ({"run_at": datetime(2030, 1, 1)}, "run_at must be timezone-aware"),
        ({"depends_on": "abc"}, "depends_on must be a list of job ids"),
    ],
)
def test_a_bad_option_is_named(options: dict[str, object], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        SendEmailJob.set(**options)  # type: ignore[arg-type]


@pytest.mark.slow
def test_a_type_checker_checks_every_set_caller(tmp_path: Path) -> None:
    caller = tmp_path / "caller.py"
    caller.write_text(
        textwrap.dedent(
            """
            from datetime import timedelta
            from jobmill import Job

            class TypedJob(Job[None, int]):
                def perform(self, params: None) -> int:
                    return 1

            TypedJob.set(queue="q", delay=timedelta(seconds=1)).set(depends_on=["a"]).later()
            TypedJob.set(queue=1)
            TypedJob.set(qeueu="q")
            TypedJob.set().set(max_attempts="3")
            """
        )
    )
    source_root = Path(jobmill.__file__).parents[1]
    # Without site-packages (fast): jobmill's own types are what is checked here.
    flags = ["--strict", "--no-site-packages", "--ignore-missing-imports"]
    flags += ["--config-file", os.devnull, "--cache-dir", str(tmp_path / "cache")]
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", *flags, caller.name],
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(source_root)},
        capture_output=True,
        text=True,
        check=False,
    )
    lines = checked.stdout.splitlines()
    errors = [line for line in lines if line.startswith("caller.py:") and ": error:" in line]
    assert [line.split(":")[1] for line in errors] == ["10", "11", "12"], checked.stdout
    assert 'Argument "queue" to "set" of "Job" has incompatible type "int"' in errors[0]
    assert 'Unexpected keyword argument "qeueu"' in errors[1]
    assert 'Argument "max_attempts" to "set" of "Dispatch"' in errors[2]
