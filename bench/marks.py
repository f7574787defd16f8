"""Start marks: every benchmark job, of every system, calls ``record(n)`` first.

A mark is one line ``n time`` appended (O_APPEND, one write, so lines from
several processes never interleave) to the file named by ``JOBMILL_BENCH_MARKS``.
Throughput is read from the first and last start, latency from the enqueue
call to the start — the same way for every system, whatever it stores.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

ENV = "JOBMILL_BENCH_MARKS"
_fd: int | None = None


def record(n: int) -> None:
    """Note that job ``n`` started, now."""
    global _fd
    if _fd is None:
        _fd = os.open(os.environ[ENV], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(_fd, b"%d %.6f\n" % (n, time.time()))


@dataclass
class Marks:
    """The marks written so far to ``path``, read incrementally."""

    path: Path
    starts: dict[int, float] = field(default_factory=dict)
    count: int = 0  # marks read, duplicates included
    _offset: int = 0

    def refresh(self) -> int:
        """Read what was appended since the last call; returns ``count``."""
        try:
            with self.path.open("rb") as f:
                f.seek(self._offset)
                chunk = f.read()
        except FileNotFoundError:
            return self.count
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self._offset += len(complete)
        for line in complete.splitlines():
            n, at = line.split()
            self.starts.setdefault(int(n), float(at))
            self.count += 1
        return self.count

    def distinct(self) -> int:
        """How many different jobs have started, after reading new marks."""
        self.refresh()
        return len(self.starts)

    @property
    def duplicates(self) -> int:
        return self.count - len(self.starts)

    def rate(self, jobs: set[int] | None = None) -> float:
        """Jobs per second between the first and the last start (of ``jobs``)."""
        times = sorted(t for n, t in self.starts.items() if jobs is None or n in jobs)
        if len(times) < 2 or times[-1] == times[0]:
            raise ValueError(f"need two distinct starts to compute a rate, got {len(times)}")
        return (len(times) - 1) / (times[-1] - times[0])
