"""Values one of the databases would refuse, or could not give back, are refused up
front with ``InvalidParams`` (or the option's error) naming where they are, the same
on SQLite and PostgreSQL: NaN and infinity anywhere, NUL characters, lone surrogates,
integers too long to print, nesting too deep, text longer than its column."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner, Result

import cron_jobs  # noqa: F401  (registers the jobs cron entries name)
import jobmill
import jobmill.cron
from jobmill import Job
from jobmill.cli import load_commands
from jobmill.errors import CronError, InvalidParams
from jobmill.storable import MAX_DEPTH, json_problems, text_problem
from jobmill.store import Store


class StorableDictJob(Job[dict[str, Any], None]):
    def perform(self, params: dict[str, Any]) -> None:
        return None


def cli(*args: str) -> Result:
    return CliRunner().invoke(load_commands(), list(args), catch_exceptions=False)


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


NOT_STORABLE = [
    ({"a": {"b": [1.0, float("inf")]}}, "a.b.1: cannot be stored: must be a finite number"),
    ({"x": float("nan")}, "x: cannot be stored: must be a finite number"),
    ({"text": "nul\x00byte"}, "text: cannot be stored: contains a NUL character"),
    ({"nul\x00key": 1}, "nul\x00key: cannot be stored: key contains a NUL character"),
    ({"text": "lone \ud800"}, "text: cannot be stored: contains a lone surrogate"),
    ({"n": 10**5000}, "n: cannot be stored: is an integer of more than 4300 digits"),
    (nested(MAX_DEPTH + 5), f"is nested more than {MAX_DEPTH} levels deep"),
]


@pytest.mark.parametrize(("params", "message"), NOT_STORABLE)
def test_untyped_params_the_databases_would_refuse_are_invalid_and_nothing_is_stored(
    configured: Store, params: dict[str, Any], message: str
) -> None:
    # Untyped params went through pydantic's JSON mode, which made NaN null.
    with pytest.raises(InvalidParams) as caught:
        StorableDictJob.later(params)
    assert message in str(caught.value)
    with pytest.raises(InvalidParams):
        StorableDictJob.later_many([{"fine": 1}, params])
    with pytest.raises(InvalidParams):
        StorableDictJob.now(params)
    assert configured.count_jobs() == 0


def test_storable_params_are_stored_as_given(configured: Store) -> None:
    params = {"text": "naïve ☃ \t\n", "n": 10**4000, "deep": nested(MAX_DEPTH - 2), "none": None}
    job_id = StorableDictJob.later(params)
    assert jobmill.get(job_id).params == params


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"queue": "q" * 101}, "queue is 101 characters long; at most 100 can be stored"),
        ({"queue": "a\x00b"}, "queue contains a NUL character"),
        ({"unique_key": "k" * 256}, "unique_key is 256 characters long; at most 255"),
        ({"priority": 2**31}, "priority must be from -2147483648 to 2147483647"),
        ({"max_attempts": 2**31}, "max_attempts must be from -2147483648 to 2147483647"),
        ({"delay": 3_000_000 * 86400}, "delay must end before the year 10000"),
        ({"delay": float("nan")}, "delay must be a number of seconds, got nan"),
        ({"timeout": float("nan")}, "timeout must be positive, got nan"),
        ({"depends_on": ["\x00"]}, "depends_on contains a NUL character"),
    ],
)
def test_options_the_databases_would_refuse_are_named(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        StorableDictJob.set(**options)


def test_a_job_class_with_options_the_databases_would_refuse_fails_when_defined() -> None:
    with pytest.raises(ValueError, match="job name is 201 characters long"):
        type("J" * 201, (StorableDictJob,), {})
    with pytest.raises(ValueError, match=r"StorableQueueJob\.queue contains a NUL character"):
        type("StorableQueueJob", (StorableDictJob,), {"queue": "a\x00"})
    with pytest.raises(ValueError, match=r"StorablePriorityJob\.priority must be from"):
        type("StorablePriorityJob", (StorableDictJob,), {"priority": 2**40})


@pytest.mark.parametrize(("params", "message"), NOT_STORABLE[:6])
def test_cron_params_the_databases_would_refuse_are_invalid_and_no_entry_is_added(
    configured: Store, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidParams) as caught:
        jobmill.cron.add_cron_job(
            name="storable", job=StorableDictJob, expression="@daily", params=params
        )
    assert message in str(caught.value)
    assert configured.list_cron_jobs() == []


def test_cron_fields_longer_than_their_columns_are_refused(configured: Store) -> None:
    # A valid expression of 287 characters: the column holds 200.
    expression = ",".join(str(minute % 60) for minute in range(100)) + " * * * *"
    with pytest.raises(CronError, match="cron expression is 287 characters long; at most 200"):
        jobmill.cron.add_cron_job(name="long", job="CronReportJob", expression=expression)
    with pytest.raises(CronError, match="queue is 101 characters long"):
        jobmill.cron.add_cron_job(
            name="long", job="CronReportJob", expression="@daily", queue="q" * 101
        )
    with pytest.raises(CronError, match="priority must be from"):
        jobmill.cron.add_cron_job(
            name="long", job="CronReportJob", expression="@daily", priority=2**31
        )
    with pytest.raises(CronError, match="cron entry name contains a NUL character"):
        jobmill.cron.add_cron_job(name="a\x00b", job="CronReportJob", expression="@daily")
    assert configured.list_cron_jobs() == []


@pytest.mark.usefixtures("configured")
def test_cli_cron_add_with_an_infinite_param_exits_2_naming_it() -> None:
    result = cli(
        "cron", "add", "--name", "inf", "--job", "CronReportJob", "--cron", "@daily",
        "--param", "x=1e999",
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "invalid params for CronReportJob; no cron entry was added:" in result.stderr
    assert "x: cannot be stored: must be a finite number" in result.stderr
    assert cli("cron", "list", "--json").stdout.strip() == "[]"


@pytest.mark.usefixtures("configured")
def test_cli_cron_add_with_an_expression_too_long_exits_2() -> None:
    expression = ",".join(str(minute % 60) for minute in range(100)) + " * * * *"
    result = cli("cron", "add", "--name", "long", "--job", "CronReportJob", "--cron", expression)
    assert result.exit_code == 2, result.output
    assert "cron expression is 287 characters long; at most 200 can be stored" in result.stderr


@pytest.mark.usefixtures("configured")
@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("x=1e999", "x: cannot be stored: must be a finite number"),
        ("text=\udcff", "text: cannot be stored: contains a lone surrogate"),  # undecodable argv
    ],
)
def test_cli_run_later_with_a_param_the_databases_would_refuse_exits_2(
    param: str, message: str
) -> None:
    result = cli("--import", "test_storable_values", "run", "StorableDictJob", "--later",
                 "--param", param)  # fmt: skip
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert cli("list", "--json").stdout.strip() == "[]"


def test_text_problem_and_json_problems_find_each_kind() -> None:
    assert text_problem("plain") is None
    assert text_problem("ok ☃") is None
    assert text_problem("x" * 11, 10) == "is 11 characters long; at most 10 can be stored"
    assert json_problems({"a": [None, True, 1, 1.5, "s"]}) == []
    [problem] = json_problems({"a": None}, lambda: {"a": float("-inf")})
    assert problem["loc"] == ("a",) and problem["type"] == "finite_number"
    [not_json] = json_problems({"when": object()})
    assert "is a object, not a JSON value" in not_json["msg"]
