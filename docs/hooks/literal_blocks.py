"""A griffe extension for the API reference: jobmill's docstrings end a line
with ``::`` before an indented example, as reStructuredText does; in Markdown
that indented block is already code, so the second colon is dropped."""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension, Object

LITERAL_MARKER = re.compile(r"::$", re.MULTILINE)


class LiteralBlocks(Extension):
    def on_instance(self, *, obj: Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = LITERAL_MARKER.sub(":", obj.docstring.value)
