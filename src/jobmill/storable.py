"""What the databases store, the same on SQLite and PostgreSQL.

Writing: ``json_problems`` and ``text_problem`` find what one of the databases
would refuse or could not give back (NaN and infinity, NUL characters, lone
surrogates, integers Python cannot print, nesting too deep, text longer than
its column), so dispatch, cron and the command line refuse it up front on
both, naming where it is. ``plainly_storable`` tells, at a glance of the
encoded text, when there is nothing for them to find.

Reading: SQLite keeps a JSON column as text, so a row written by hand may
hold text that is not JSON (``'{count: 5}'``). It must not fail the whole
query: such text comes back as ``UndecodableJSON``, shown as it is and
refused wherever it would be used as params.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any

# Deeper JSON than this is refused: Python's json module gives up on reading
# back a few hundred levels more.
MAX_DEPTH = 200
# Python refuses to turn longer integers into text (``sys.set_int_max_str_digits``).
MAX_INT_DIGITS = sys.get_int_max_str_digits() or 4300
_INT_LIMIT = 10**MAX_INT_DIGITS
MAX_PROBLEMS = 10
# PostgreSQL's INTEGER; SQLite's goes further, so the smaller range holds for both.
INTEGER_MIN, INTEGER_MAX = -(2**31), 2**31 - 1
# The lengths of the text columns that have one (PostgreSQL enforces them,
# SQLite does not); the schema declares its columns with these.
JOB_NAME_LENGTH = 200
QUEUE_LENGTH = 100
UNIQUE_KEY_LENGTH = 255
CRON_NAME_LENGTH = 200
CRON_EXPRESSION_LENGTH = 200
SHOWN_DEPTH = 10
# What in JSON text pydantic wrote may be a problem (see ``plainly_storable``).
_SUSPECT = re.compile(rb"null|NaN|Infinity|\\u0000")
JSON_SCALARS = (str, int, float, bool, type(None))

Problem = dict[str, Any]
Path = tuple[str | int, ...]


def text_problem(text: str, max_length: int | None = None) -> str | None:
    """Why ``text`` cannot be stored alike on both databases, or None."""
    if max_length is not None and len(text) > max_length:
        return f"is {len(text)} characters long; at most {max_length} can be stored"
    if "\x00" in text:
        return "contains a NUL character (\\x00), which PostgreSQL cannot store"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            return f"contains a lone surrogate ({text[exc.start]!r}), which is not valid Unicode"
    return None


def check_text(field: str, value: str, max_length: int | None = None) -> str:
    """``value`` if storable, else ``ValueError`` naming ``field``."""
    problem = text_problem(value, max_length)
    if problem is not None:
        raise ValueError(f"{field} {problem} (got {shown(value)})")
    return value


def shown(text: str, limit: int = 60) -> str:
    """``text`` quoted and escaped for a message, cut to ``limit`` characters."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


def check_integer(field: str, value: int) -> int:
    """``value`` if an INTEGER column holds it on both databases, else ``ValueError``."""
    if not INTEGER_MIN <= value <= INTEGER_MAX:
        raise ValueError(f"{field} must be from {INTEGER_MIN} to {INTEGER_MAX}, got {value}")
    return value


def plainly_storable(encoded: bytes) -> bool:
    """Whether JSON text, as pydantic writes it, certainly has no part that
    ``json_problems`` would find; False only means it needs that closer look.

    Short text cannot hold an integer too long to read back, nor nesting too
    deep (every level takes two brackets). Without a ``null`` it holds no NaN
    or infinity (pydantic writes them as null, or NaN and Infinity when a
    model says so), and without a ``\\u0000`` escape no NUL character; pydantic
    refuses to write lone surrogates.
    """
    size = len(encoded)
    if size > 2 * MAX_DEPTH and (
        size > MAX_INT_DIGITS or encoded.count(b"[") + encoded.count(b"{") > MAX_DEPTH
    ):
        return False
    return _SUSPECT.search(encoded) is None


def json_problems(value: Any, before_json: Callable[[], Any] | None = None) -> list[Problem]:
    """What in a JSON value (params, a result) the databases would not store alike.

    Each problem is a pydantic-style error (``loc``, ``msg``, ``type``,
    ``input``). ``before_json`` gives the value before pydantic's JSON
    conversion, which writes NaN and infinity in untyped values as null: it
    is looked at only when a null turns up.
    """
    problems, saw_null = _walk(value)
    if not problems and saw_null and before_json is not None:
        problems = [p for p in _walk(before_json())[0] if p["type"] == "finite_number"]
    return problems


def _walk(root: Any) -> tuple[list[Problem], bool]:
    problems: list[Problem] = []
    saw_null = False
    stack: list[tuple[Path, Any]] = [((), root)]
    while stack and len(problems) < MAX_PROBLEMS:
        path, value = stack.pop()
        if value is None:
            saw_null = True
        elif isinstance(value, Mapping | list | tuple):
            if len(path) >= MAX_DEPTH:
                problems.append(_problem(path, f"is nested more than {MAX_DEPTH} levels deep"))
                continue
            stack.extend(reversed(_children(path, value, problems)))
        else:
            problem = _scalar_problem(value)
            if problem is not None:
                problems.append(_problem(path, problem[0], problem[1], value))
    return problems, saw_null


def _children(path: Path, value: Any, problems: list[Problem]) -> list[tuple[Path, Any]]:
    if not isinstance(value, Mapping):
        return [((*path, index), item) for index, item in enumerate(value)]
    children = []
    for key, item in value.items():
        if not isinstance(key, str):
            problems.append(_problem((*path, str(key)), "has a key that is not a string"))
            continue
        problem = text_problem(key)
        if problem is not None:
            problems.append(_problem((*path, key), f"key {problem}", "text", key))
        children.append(((*path, key), item))
    return children


def _scalar_problem(value: Any) -> tuple[str, str] | None:
    if isinstance(value, str):
        problem = text_problem(value)
        return None if problem is None else (problem, "text")
    if isinstance(value, float):
        if math.isfinite(value):
            return None
        return "must be a finite number (JSON has no NaN or infinity)", "finite_number"
    if isinstance(value, int) and not isinstance(value, bool):
        if -_INT_LIMIT < value < _INT_LIMIT:
            return None
        return f"is an integer of more than {MAX_INT_DIGITS} digits", "int_too_long"
    if not isinstance(value, JSON_SCALARS):
        return f"is a {type(value).__name__}, not a JSON value", "json_type"
    return None


def _problem(path: Path, msg: str, kind: str = "structure", given: Any = None) -> Problem:
    if len(path) > SHOWN_DEPTH:
        path = (*path[:SHOWN_DEPTH], "...")
    if isinstance(given, int) and not -_INT_LIMIT < given < _INT_LIMIT:
        given = None  # too long to show
    return {"loc": path, "msg": f"cannot be stored: {msg}", "type": kind, "input": given}


class UndecodableJSON(str):
    """Stored text of a JSON column that is not JSON; ``reason`` says why."""

    reason: str

    def __new__(cls, text: str, reason: str) -> UndecodableJSON:
        value = super().__new__(cls, text)
        value.reason = reason
        return value

    def describe(self) -> str:
        """``'{count: 5}' is not valid JSON (expecting ... at character 2)``."""
        return f"{str(self)!r:.200} is not valid JSON ({self.reason})"


def load_json(stored: Any) -> Any:
    """A JSON column's value: the decoded JSON, or ``UndecodableJSON`` for broken text."""
    if isinstance(stored, bytes | bytearray | memoryview):
        stored = bytes(stored).decode("utf-8", errors="replace")
    if not isinstance(stored, str):
        return stored  # SQLite returns a bare number stored by hand as a number
    try:
        return json.loads(stored)
    except json.JSONDecodeError as exc:
        return UndecodableJSON(stored, f"{exc.msg} at character {exc.pos + 1}")
    except RecursionError:
        return UndecodableJSON(stored, "nested too deeply")


def json_text(value: Any, *, sort_keys: bool = False) -> str:
    """Indented JSON for people to read; text that is not JSON as it is stored,
    followed by why it is not."""
    if isinstance(value, UndecodableJSON):
        return f"{value}\n(stored text, not valid JSON: {value.reason})"
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=sort_keys, default=str)
