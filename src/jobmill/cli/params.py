"""The ``--param key=value`` grammar shared by ``run``, job aliases and ``cron add``.

``a.b=value`` nests; ints, floats, ``true``/``false``, ``null`` and JSON
``[...]``/``{...}`` are parsed; anything else is a string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$")
INTEGER = re.compile(r"^[+-]?\d+$")
FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")


class ParamError(ValueError):
    """A ``--param`` that does not follow the grammar; the message says which and why."""


def parse_value(text: str) -> Any:
    """A typed value from the text after ``=``."""
    lowered = text.strip()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    if INTEGER.match(lowered):
        return int(lowered)
    if FLOAT.match(lowered):
        return float(lowered)
    if lowered[:1] in "[{":
        try:
            return json.loads(lowered)
        except json.JSONDecodeError as exc:
            raise ParamError(f"invalid JSON {text!r}: {exc.msg} at column {exc.colno}") from None
    return text


def parse_params(items: Iterable[str]) -> dict[str, Any]:
    """``["a=1", "b.c=x"]`` → ``{"a": 1, "b": {"c": "x"}}``; raises ``ParamError``."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep:
            raise ParamError(f"--param {item!r}: expected key=value")
        if not KEY.match(key):
            raise ParamError(f"--param {item!r}: invalid key {key!r} (use name or a.b.c)")
        _assign(params, key.split("."), parse_value(raw), item)
    return params


def _assign(target: dict[str, Any], path: list[str], value: Any, item: str) -> None:
    for part in path[:-1]:
        child = target.setdefault(part, {})
        if not isinstance(child, dict):
            raise ParamError(f"--param {item!r}: {part!r} is already set to a value, not an object")
        target = child
    if isinstance(target.get(path[-1]), dict) and not isinstance(value, dict):
        raise ParamError(f"--param {item!r}: {path[-1]!r} already holds nested keys")
    target[path[-1]] = value
