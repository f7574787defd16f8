"""The side effect each self-test attempt leaves: one line per attempt that ran
to its end, appended to a file of its process's own in the directory named by
``JOBMILL_SELFTEST_MARKS``.

An ``O_APPEND`` write of one short line is atomic, so a process killed at any
moment leaves whole lines only.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MARKS_ENV = "JOBMILL_SELFTEST_MARKS"
SUFFIX = ".marks"

_lock = threading.Lock()
_files: dict[int, int] = {}  # pid -> descriptor of this process's marks file


@dataclass(frozen=True)
class Mark:
    """Attempt ``attempt`` of job ``job_id`` ran to its end in process ``pid``."""

    job_id: str
    attempt: int
    pid: int


def write_mark(job_id: str, attempt: int) -> None:
    """Append this attempt's mark to this process's file (one ``write`` call)."""
    pid = os.getpid()
    line = f"{job_id} {attempt} {pid}\n".encode()
    os.write(_descriptor(pid), line)


def _descriptor(pid: int) -> int:
    with _lock:
        if pid not in _files:
            directory = os.environ.get(MARKS_ENV)
            if not directory:
                raise RuntimeError(f"{MARKS_ENV} is not set: only `jobmill selftest` runs this job")
            path = Path(directory) / f"{pid}{SUFFIX}"
            _files[pid] = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        return _files[pid]


def read_marks(directory: Path) -> Iterator[Mark]:
    """Every mark written in ``directory``, file by file."""
    for path in sorted(directory.glob(f"*{SUFFIX}")):
        for line in path.read_text().splitlines():
            job_id, attempt, pid = line.split()
            yield Mark(job_id, int(attempt), int(pid))
