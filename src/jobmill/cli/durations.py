"""Durations on the command line: ``30d``, ``12h``, ``90s``, ``1d12h``, ``2w``."""

from __future__ import annotations

import re
from datetime import timedelta

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


def parse_duration(text: str) -> timedelta:
    """``"1d12h"`` → 36 hours. Units: s, m, h, d, w; a unit is required.

    Raises ``ValueError`` saying what was expected.
    """
    compact = text.strip().lower().replace(" ", "")
    parts = PART.findall(compact)
    if not compact or "".join(number + unit for number, unit in parts) != compact:
        raise ValueError(
            f"invalid duration {text!r}: expected a number and a unit "
            "(s, m, h, d, w), e.g. 30d, 12h, 90s or 1d12h"
        )
    try:
        return timedelta(seconds=sum(float(number) * UNITS[unit] for number, unit in parts))
    except OverflowError:
        raise ValueError(f"duration {text!r} is too long") from None
