"""What became of each self-test job, from its row and the marks its attempts left.

A job's row says whether it completed and, in its result, which attempt's
completion was recorded; the marks say which attempts ran to their end. Then:

- **lost**: not completed, or completed by an attempt that left no mark (its
  work was recorded as done but never done);
- **duplicate completion**: a second completion was accepted beside the
  recorded one: the recorded attempt is not the job's latest (a fenced-out
  attempt's write was taken), it left two marks, or a later attempt also ran
  to its end;
- **ran again**: an earlier attempt ran to its end but its worker was killed
  or frozen before its completion was recorded, so the job ran once more —
  at-least-once delivery. With no worker killed this too is a duplicate.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from jobmill.selftest.marks import Mark
from jobmill.states import JobStatus
from jobmill.store.queries import JobState


@dataclass(frozen=True)
class Tally:
    """The ids of the jobs in each finding, and how many completed."""

    jobs: int
    completed: int
    lost: tuple[str, ...]
    duplicated: tuple[str, ...]
    ran_again: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.lost and not self.duplicated


def tally_jobs(
    job_ids: Sequence[str],
    states: Iterable[JobState],
    marks: Iterable[Mark],
    *,
    workers_killed: bool,
) -> Tally:
    """Sort the jobs enqueued (``job_ids``) by what their rows and marks show.

    ``workers_killed``: workers were killed or frozen, so an attempt run to its
    end without its completion recorded is expected (it counts as ran again,
    not duplicated).
    """
    by_id = {state.id: state for state in states}
    attempts: defaultdict[str, Counter[int]] = defaultdict(Counter)
    for mark in marks:
        attempts[mark.job_id][mark.attempt] += 1
    lost, duplicated, ran_again = [], [], []
    completed = 0
    for job_id in job_ids:
        state = by_id.get(job_id)
        if state is not None and state.status == JobStatus.COMPLETED:
            completed += 1
        finding = _finding(state, attempts[job_id], workers_killed)
        if finding == "lost":
            lost.append(job_id)
        elif finding == "duplicated":
            duplicated.append(job_id)
        elif finding == "ran again":
            ran_again.append(job_id)
    return Tally(len(job_ids), completed, tuple(lost), tuple(duplicated), tuple(ran_again))


def _finding(state: JobState | None, marks: Counter[int], workers_killed: bool) -> str | None:
    if state is None or state.status != JobStatus.COMPLETED:
        return "lost"
    recorded = _recorded_attempt(state.result)
    if recorded is None or not marks[recorded]:
        return "lost"
    if recorded != state.attempts or marks[recorded] > 1 or max(marks) > recorded:
        return "duplicated"
    if marks.total() > 1:
        return "ran again" if workers_killed else "duplicated"
    return None


def _recorded_attempt(result: Any) -> int | None:
    attempt = result.get("attempt") if isinstance(result, dict) else None
    return attempt if isinstance(attempt, int) else None
