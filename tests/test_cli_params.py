"""The pure parts of the command line: the --param grammar, durations, short ids."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jobmill.cli.durations import parse_duration
from jobmill.cli.errors import USAGE, describe
from jobmill.cli.params import ParamError, parse_params, parse_value
from jobmill.errors import AmbiguousJobId, InvalidParams, JobNotFound
from jobmill.humanize import short_ids


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5", 5),
        ("-12", -12),
        ("+3", 3),
        ("2.5", 2.5),
        ("1e3", 1000.0),
        ("true", True),
        ("false", False),
        ("null", None),
        ("[1, 2]", [1, 2]),
        ('{"a": {"b": 1}}', {"a": {"b": 1}}),
        ("AI projects", "AI projects"),
        ('"AI projects"', "AI projects"),
        ("'AI projects'", "AI projects"),
        ('"5"', "5"),
        ('"line\\nbreak"', "line\nbreak"),
        ("007", "007"),
        ("0x10", "0x10"),
        ("", ""),
        ("True", "True"),
        ("team-123", "team-123"),
    ],
)
def test_parse_value_types(text: str, expected: object) -> None:
    assert parse_value(text) == expected
    assert type(parse_value(text)) is type(expected)


def test_parse_params_nests_dotted_keys() -> None:
    params = parse_params(
        ["theme=AI projects", "count=5", "target.host=db", "target.port=5432", "a.b.c=true"]
    )
    assert params == {
        "theme": "AI projects",
        "count": 5,
        "target": {"host": "db", "port": 5432},
        "a": {"b": {"c": True}},
    }


def test_parse_params_keeps_equals_signs_in_values() -> None:
    assert parse_params(["query=a=b"]) == {"query": "a=b"}


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["count"], "--param 'count': expected key=value"),
        (["=5"], "invalid key ''"),
        (["a..b=1"], "invalid key 'a..b'"),
        (["1a=1"], "invalid key '1a'"),
        (["tags=[1, 2"], "--param 'tags=[1, 2': invalid JSON"),
        (["a=1", "a=2"], "--param 'a=2': 'a' is given twice"),
        (["a=1", "a.b=2"], "--param 'a.b=2': 'a' is already set to a value"),
        (["a.b=1", "a=2"], "--param 'a=2': 'a' already holds nested keys"),
    ],
)
def test_parse_params_rejects_malformed_input(items: list[str], message: str) -> None:
    with pytest.raises(ParamError) as caught:
        parse_params(items)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        ("90s", timedelta(seconds=90)),
        ("1d12h", timedelta(hours=36)),
        ("2w", timedelta(weeks=2)),
        ("1.5h", timedelta(minutes=90)),
        (" 10M ", timedelta(minutes=10)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "30", "d", "30x", "1d 2", "-5d", "5d!"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="expected a number and a unit"):
        parse_duration(text)


def test_short_ids_grow_until_unique() -> None:
    ids = [
        "01a221b4-9ea9-7150-9cb7-5c1f24f8ae45",
        "01a221b4-9ea9-7151-0000-000000000000",
        "01a221b5-0000-7000-8000-000000000000",
        "01b00000-0000-7000-8000-000000000000",
    ]
    short = short_ids(ids)
    assert short[ids[0]] == "01a221b4-9ea9-7150"
    assert short[ids[1]] == "01a221b4-9ea9-7151"
    assert short[ids[2]] == "01a221b5"
    assert short[ids[3]] == "01b00000"
    assert len(set(short.values())) == len(ids)


def test_describe_maps_errors_to_exit_codes() -> None:
    ambiguous = describe(AmbiguousJobId("01", ["01a", "01b"]))
    assert ambiguous.code == USAGE
    assert ambiguous.details == ["01a", "01b"]
    assert describe(JobNotFound("zz")).code == 1
    invalid = describe(
        InvalidParams(
            "CliGreetJob",
            [
                {"loc": ("name",), "msg": "Field required", "type": "missing"},
                {"loc": ("times",), "msg": "Input should be a valid integer", "input": "x"},
            ],
        )
    )
    assert invalid.code == USAGE
    assert "nothing was enqueued" in invalid.message
    assert invalid.details == [
        "name: required (add --param name=...)",
        "times: Input should be a valid integer (got 'x')",
    ]
