"""What the databases store: JSON text read back tolerantly.

SQLite keeps a JSON column as text, so a row written by hand may hold text
that is not JSON (``'{count: 5}'``). Reading it must not fail the whole
query: such text comes back as ``UndecodableJSON``, shown as it is and
refused wherever it would be used as params.
"""

from __future__ import annotations

import json
from typing import Any


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
