"""The ``--param key=value`` grammar shared by ``run``, job commands and ``cron add``.

- ``key=value``; ``a.b.c=value`` nests (``{"a": {"b": {"c": value}}}``).
- Values: integers, floats, ``true``/``false``, ``null`` and JSON ``[...]`` /
  ``{...}`` are parsed; ``"..."`` or ``'...'`` is always a string (so
  ``--param 'code="007"'`` stays text); anything else is the string as given,
  spaces included (``--param theme="AI projects"`` after the shell's quoting).
- A key given twice, a key that is both a value and an object, a missing
  ``=`` or broken JSON raise ``ParamError`` naming the ``--param``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from jobmill.storable import MAX_INT_DIGITS, shown

KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$")
# JSON's number grammar (no leading zeros, so "007" stays a string), plus a "+".
INTEGER = re.compile(r"^[+-]?(0|[1-9]\d*)$")
FLOAT = re.compile(r"^[+-]?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$")


class ParamError(ValueError):
    """A ``--param`` that does not follow the grammar; the message says which and why."""


def parse_value(text: str) -> Any:
    """A typed value from the text after ``=``."""
    value = text.strip()
    if value in ("true", "false"):
        return value == "true"
    if value == "null":
        return None
    if INTEGER.match(value):
        return _integer(value)
    if FLOAT.match(value):
        return float(value)
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return _quoted(value)
    if value.startswith(("[", "{")):
        return _json(value)
    return text


def _integer(value: str) -> int:
    try:
        return int(value)
    except ValueError:  # longer than Python turns into a number (4300 digits)
        raise ParamError(
            f"an integer of {len(value.lstrip('+-'))} digits; at most {MAX_INT_DIGITS} are allowed"
        ) from None


def _json(value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ParamError(f"invalid JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise ParamError("invalid JSON: nested too deeply") from None
    except ValueError:  # an integer longer than Python reads
        raise ParamError(f"invalid JSON: an integer of more than {MAX_INT_DIGITS} digits") from None


def _quoted(value: str) -> str:
    if value[0] == "'":
        return value[1:-1]
    try:
        decoded = json.loads(value)  # handles \" and \n inside double quotes
    except json.JSONDecodeError:
        return value[1:-1]
    return str(decoded)


def parse_params(items: Iterable[str]) -> dict[str, Any]:
    """``["a=1", "b.c=x"]`` → ``{"a": 1, "b": {"c": "x"}}``; raises ``ParamError``."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep:
            raise ParamError(f"--param {shown(item)}: expected key=value")
        if not KEY.match(key):
            raise ParamError(f"--param {shown(item)}: invalid key {shown(key)} (use name or a.b.c)")
        try:
            value = parse_value(raw)
        except ParamError as exc:
            raise ParamError(f"--param {shown(item)}: {exc}") from None
        _assign(params, key.split("."), value, item)
    return params


def _assign(target: dict[str, Any], path: list[str], value: Any, item: str) -> None:
    for depth, part in enumerate(path[:-1], start=1):
        child = target.setdefault(part, {})
        if not isinstance(child, dict):
            prefix = ".".join(path[:depth])
            raise ParamError(f"--param {shown(item)}: {prefix!r} is already set to a value")
        target = child
    last = path[-1]
    if last in target:
        problem = (
            "already holds nested keys" if isinstance(target[last], dict) else "is given twice"
        )
        raise ParamError(f"--param {shown(item)}: {'.'.join(path)!r} {problem}")
    target[last] = value
