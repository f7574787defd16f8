"""Sync jobs' deadlines: one thread fires them all, in time order, and a
deadline whose block ended first never fires."""

from __future__ import annotations

import threading
import time

import pytest

from jobmill.deadline import ALARMS, Alarms, ThreadDeadline
from jobmill.errors import JobCancelled, JobTimeout


def deadline_threads() -> int:
    return sum(thread.name == "jobmill-deadlines" for thread in threading.enumerate())


def test_a_deadline_raises_the_timeout_in_its_thread_once_it_passes() -> None:
    fired: list[bool] = []
    started = time.monotonic()
    with pytest.raises(JobTimeout), ThreadDeadline(0.1, lambda: fired.append(True)) as deadline:
        while True:  # pure Python: the exception arrives at the next bytecode
            time.sleep(0.001)
    assert deadline.expired and fired == [True]
    assert 0.1 <= time.monotonic() - started < 2


def test_deadlines_that_end_first_never_fire_and_do_not_pile_up() -> None:
    with ThreadDeadline(3600):
        pass
    threads = deadline_threads()
    for _ in range(2000):
        with ThreadDeadline(3600) as deadline:
            pass
        assert not deadline.expired
    # A long timeout on short jobs: the ended deadlines are dropped as they go.
    assert ALARMS.waiting <= 10
    assert deadline_threads() == threads  # no thread of their own


def test_one_thread_fires_deadlines_in_time_order_whatever_order_they_were_set() -> None:
    alarms = Alarms()
    fired: list[tuple[str, threading.Thread]] = []
    ready = threading.Barrier(3)

    def run(name: str, seconds: float) -> None:
        deadline = ThreadDeadline(seconds, lambda: fired.append((name, threading.current_thread())))
        ready.wait()
        try:
            # Set on the private alarms, as __enter__ sets them on the shared ones.
            alarms.set(deadline, seconds)
            while True:
                time.sleep(0.001)
        except JobTimeout:
            pass
        finally:
            deadline._done = True

    threads = [
        threading.Thread(target=run, args=("late", 0.4)),
        threading.Thread(target=run, args=("early", 0.1)),
    ]
    for thread in threads:
        thread.start()
    ready.wait()
    for thread in threads:
        thread.join(5)
    assert [name for name, _ in fired] == ["early", "late"]
    [(_, early), (_, late)] = fired
    assert early is late and early.name == "jobmill-deadlines"


def test_an_interrupt_raises_cancelled_and_the_deadline_then_never_fires() -> None:
    with pytest.raises(JobCancelled), ThreadDeadline(0.2) as deadline:
        threading.Timer(0.05, deadline.interrupt).start()
        while True:
            time.sleep(0.001)
    time.sleep(0.3)  # past the deadline: nothing is raised here
    assert not deadline.expired
