"""The self-test's job: no work beyond leaving its mark, and the attempt that
ran it as its result (what the recorded completion says ran)."""

from __future__ import annotations

import os

from pydantic import BaseModel

from jobmill.job import Job
from jobmill.selftest.marks import write_mark


class SelftestResult(BaseModel):
    """The attempt whose completion was recorded, and the process that ran it."""

    attempt: int
    pid: int


class SelftestJob(Job[None, SelftestResult]):
    """Marks its attempt as run to its end, then returns it."""

    name = "jobmill-selftest"
    # Each worker killed or frozen costs the jobs it held an attempt.
    max_attempts = 50

    def perform(self, params: None) -> SelftestResult:
        write_mark(self.id, self.attempt)
        return SelftestResult(attempt=self.attempt, pid=os.getpid())
