"""Job ids: UUIDv7 text, ordered by creation time."""

from __future__ import annotations

import uuid_utils

ID_CHARACTERS = frozenset("0123456789abcdef-")


def new_job_id() -> str:
    """A new UUIDv7 as 36-character lowercase text."""
    return str(uuid_utils.uuid7())


def could_be_job_id(text: str) -> bool:
    """Whether ``text`` (lowercase) can be a job id or the start of one.

    Anything else matches no job: it is not looked up (a NUL character, which
    PostgreSQL refuses as a query value, or U+10FFFF, which has no successor).
    """
    return ID_CHARACTERS.issuperset(text)


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix``
    (a lowercase id prefix, see ``could_be_job_id``).

    Lets a prefix search use the primary-key index as a range on every database.
    """
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)
