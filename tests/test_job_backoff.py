"""Retry delays: the default curve and what a broken ``backoff`` override gets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jobmill import Job, JobStatus
from jobmill.outcomes import MAX_RETRY_DELAY, after_error

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class BackoffPlainJob(Job[None, None]):
    def perform(self, params: None) -> None:
        return None


class BackoffBrokenJob(Job[None, None]):
    def perform(self, params: None) -> None:
        return None

    def backoff(self, attempt: int) -> float:
        raise ZeroDivisionError("bad override")


class BackoffEndlessJob(Job[None, None]):
    def perform(self, params: None) -> None:
        return None

    def backoff(self, attempt: int) -> float:
        return float("inf")


def _job(cls: type[Job[None, None]]) -> Job[None, None]:
    return cls.__new__(cls)


def _retry_in(cls: type[Job[None, None]], attempt: int) -> timedelta:
    outcome = after_error(_job(cls), RuntimeError("x"), attempt, attempt + 1, NOW, [])
    assert outcome.status is JobStatus.PENDING and outcome.retry_at is not None
    return outcome.retry_at - NOW


@pytest.mark.parametrize("attempt", [1, 12, 1100, 100_000])
def test_default_backoff_is_bounded_for_any_attempt(attempt: int) -> None:
    assert timedelta(0) < _retry_in(BackoffPlainJob, attempt) <= timedelta(seconds=3600 * 1.25)


def test_a_raising_backoff_override_falls_back_to_the_default_curve() -> None:
    assert timedelta(seconds=0.75) <= _retry_in(BackoffBrokenJob, 1) <= timedelta(seconds=1.25)


def test_an_infinite_backoff_is_replaced_by_a_finite_one() -> None:
    assert _retry_in(BackoffEndlessJob, 3) <= timedelta(seconds=MAX_RETRY_DELAY)
