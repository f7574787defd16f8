"""``jobmill worker --processes M``: M worker processes, restarted when one dies.

Each child is a fresh interpreter (``python -m jobmill worker ...``), in its
own process group so that a terminal's Ctrl-C reaches only the supervisor,
which forwards SIGTERM/SIGINT once: the children stop gracefully, and a
second signal makes them stop at once. Children watch the supervisor and
stop if it disappears.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType

from jobmill.worker.signals import STOP_SIGNALS

logger = logging.getLogger("jobmill.supervisor")

RESTART_DELAY = 0.5
RESTART_DELAY_MAX = 30.0
# A child that dies sooner than this after starting is failing to start:
# restarts back off instead of spinning.
MIN_UPTIME = 5.0
POLL_SECONDS = 0.1


@dataclass
class Child:
    """One worker process slot."""

    index: int
    args: list[str]
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    restart_at: float = 0.0
    delay: float = RESTART_DELAY
    final_code: int | None = None

    @property
    def done(self) -> bool:
        return self.final_code is not None


class Supervisor:
    """Starts ``processes`` children running ``jobmill worker`` with ``worker_args``.

    The first child runs the cron scheduler (unless ``scheduler`` is False);
    the others pass ``--no-scheduler``. In ``burst`` mode a child that exits 0
    is finished and not restarted.
    """

    def __init__(
        self,
        processes: int,
        worker_args: Sequence[str],
        *,
        burst: bool = False,
        scheduler: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if processes < 1:
            raise ValueError(f"processes must be >= 1, got {processes}")
        self.burst = burst
        self.env = {**os.environ, **(env or {})}
        self.children = [
            Child(index, self._child_args(index, worker_args, scheduler))
            for index in range(processes)
        ]
        self.signals_received = 0
        self._wake = threading.Event()

    def _child_args(self, index: int, worker_args: Sequence[str], scheduler: bool) -> list[str]:
        args = [sys.executable, "-m", "jobmill", "worker", *worker_args]
        args += ["--parent-pid", str(os.getpid())]
        if index > 0 or not scheduler:
            args.append("--no-scheduler")
        return args

    def run(self) -> int:
        """Supervise until stopped by a signal (or, in burst mode, until every child
        finished); returns the exit code: 0 if every child ended cleanly."""
        previous = {signum: signal.signal(signum, self._on_signal) for signum in STOP_SIGNALS}
        try:
            for child in self.children:
                self._spawn(child)
            while not all(child.done for child in self.children):
                self._wake.wait(POLL_SECONDS)
                self._wake.clear()
                for child in self.children:
                    self._check(child)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        clean = all(child.final_code == 0 for child in self.children)
        return 0 if clean and self.signals_received < 2 else 1

    @property
    def pids(self) -> list[int]:
        return [c.process.pid for c in self.children if c.process and c.process.poll() is None]

    def _spawn(self, child: Child) -> None:
        child.process = subprocess.Popen(child.args, env=self.env, process_group=0)
        child.started = time.monotonic()
        logger.info("started worker process %d (pid %d)", child.index, child.process.pid)

    def _check(self, child: Child) -> None:
        if child.done:
            return
        if child.process is None:
            if self.signals_received:
                child.final_code = 0  # waiting for a restart: nothing left to stop
            elif time.monotonic() >= child.restart_at:
                self._spawn(child)
            return
        code = child.process.poll()
        if code is None:
            return
        child.process = None
        if self.signals_received:
            # A child still starting up dies of the forwarded signal: it held no job.
            child.final_code = 0 if code in (0, *(-signum for signum in STOP_SIGNALS)) else code
            return
        if self.burst and code == 0:
            child.final_code = code
            return
        self._schedule_restart(child, code)

    def _schedule_restart(self, child: Child, code: int) -> None:
        quick = time.monotonic() - child.started < MIN_UPTIME
        child.delay = min(RESTART_DELAY_MAX, child.delay * 2) if quick else RESTART_DELAY
        child.restart_at = time.monotonic() + child.delay
        logger.warning(
            "worker process %d exited with %s; restarting in %.1f s",
            child.index,
            _describe_exit(code),
            child.delay,
        )

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.signals_received += 1
        name = signal.Signals(signum).name
        how = "gracefully" if self.signals_received == 1 else "at once"
        logger.warning("%s received: stopping %d worker processes %s", name, len(self.pids), how)
        for child in self.children:
            if child.process is not None and child.process.poll() is None:
                child.process.send_signal(signum)
        self._wake.set()


def _describe_exit(code: int) -> str:
    if code < 0:
        return f"signal {signal.Signals(-code).name}"
    return f"code {code}"


def watch_parent(parent_pid: int, on_gone: Callable[[], None], interval: float = 1.0) -> None:
    """Call ``on_gone`` (once) when this process's parent is no longer ``parent_pid``."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval)
        logger.warning("supervisor %d is gone: stopping", parent_pid)
        on_gone()

    threading.Thread(target=watch, name="jobmill-parent-watch", daemon=True).start()
