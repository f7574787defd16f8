"""How far ahead a worker claims when its prefetch is left to it (``Pace``):
enough for two rounds at the pace jobs finish, between its concurrency and
``MAX_AHEAD``."""

from __future__ import annotations

import pytest

import jobmill
from jobmill.worker import pump
from jobmill.worker.pump import MAX_AHEAD, Pace


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(pump.time, "monotonic", clock)
    return clock


def settle(pace: Pace, clock: Clock, per_round: int, seconds: float, concurrency: int) -> int:
    """Rounds of ``seconds`` each finishing ``per_round`` jobs, until the pace settles."""
    ahead = 0
    for _ in range(60):
        started = clock.now
        clock.now += seconds
        ahead = pace.ahead(per_round, started, concurrency)
    return ahead


def test_slow_jobs_are_claimed_only_as_many_as_the_slots(clock: Clock) -> None:
    # One job a second, rounds of 5 ms: two rounds' worth is less than a job.
    assert settle(Pace(), clock, per_round=1, seconds=1.0, concurrency=10) == 10


def test_short_jobs_are_claimed_two_rounds_ahead(clock: Clock) -> None:
    # 100 jobs finish during each round of 20 ms: 5,000 a second.
    ahead = settle(Pace(), clock, per_round=100, seconds=0.02, concurrency=10)
    assert 190 <= ahead <= 200


def test_claims_ahead_stop_at_the_maximum(clock: Clock) -> None:
    assert settle(Pace(), clock, per_round=1000, seconds=0.05, concurrency=10) == MAX_AHEAD


def test_a_worker_left_to_itself_paces_its_claims() -> None:
    assert jobmill.Worker(concurrency=3).prefetch is None
    assert jobmill.Worker(concurrency=3, prefetch=7).prefetch == 7
    with pytest.raises(ValueError, match="prefetch must be an integer >= 0, got -1"):
        jobmill.Worker(prefetch=-1)
