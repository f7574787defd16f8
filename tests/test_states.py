"""``jobmill.states``: the statuses a listing shows, in order (pure)."""

from __future__ import annotations

from jobmill.states import JobStatus, statuses_to_show


def test_statuses_to_show_are_every_status_then_the_unknown_ones_sorted_once() -> None:
    found = [JobStatus.RUNNING, "zombie", "archived", "zombie", "pending"]

    assert statuses_to_show(found) == [*JobStatus, "archived", "zombie"]
    assert statuses_to_show([]) == list(JobStatus)
