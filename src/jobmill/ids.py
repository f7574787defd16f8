"""Job ids: UUIDv7 text, ordered by creation time."""

from __future__ import annotations

import uuid_utils


def new_job_id() -> str:
    """A new UUIDv7 as 36-character lowercase text."""
    return str(uuid_utils.uuid7())


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix``.

    Lets a prefix search use the primary-key index as a range on every database.
    """
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)
