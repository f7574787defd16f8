"""Job classes used by the foundation tests (names unique to this area)."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from typing_extensions import TypedDict

from jobmill import Job, create_job, job


class SendEmailParams(BaseModel):
    to: str
    subject: str
    body: str = ""


class SendEmailResult(BaseModel):
    message_id: str


class SendEmailJob(Job[SendEmailParams, SendEmailResult]):
    """The seed's SendEmailJob."""

    queue = "mail"
    max_attempts = 3

    def perform(self, params: SendEmailParams) -> SendEmailResult:
        self.update_progress(50, "Sending...")
        return SendEmailResult(message_id=f"msg-{params.to}")


class LongRunningParams(BaseModel):
    items: int = 3


class LongRunningJob(Job[LongRunningParams, dict[str, int]]):
    """The seed's long-running job with progress tracking."""

    def perform(self, params: LongRunningParams) -> dict[str, int]:
        self.update_progress(10, "Loading data...")
        self.update_progress(50, "Processing items...")
        self.update_progress(90, "Saving results...")
        return {"count": params.items}


class AsyncProgressJob(Job[LongRunningParams, dict[str, int]]):
    async def perform(self, params: LongRunningParams) -> dict[str, int]:
        for step in range(params.items):
            await asyncio.sleep(0)
            self.update_progress((step + 1) * 100 / params.items, f"step {step + 1}")
        return {"count": params.items}


class BoomError(RuntimeError):
    pass


class FailingParams(BaseModel):
    message: str = "boom"


class FoundationFailingJob(Job[FailingParams, None]):
    max_attempts = 1

    def perform(self, params: FailingParams) -> None:
        raise BoomError(params.message)


class UnserialisableJob(Job[None, Any]):
    def perform(self, params: None) -> Any:
        return {"when": object()}


class Point(TypedDict):
    x: int
    y: int


@dataclass
class Size:
    width: int
    height: int


class TypedDictJob(Job[Point, int]):
    def perform(self, params: Point) -> int:
        return params["x"] + params["y"]


class DataclassJob(Job[Size, Size]):
    def perform(self, params: Size) -> Size:
        return Size(params.height, params.width)


class PlainJob(Job[list[int], int]):
    def perform(self, params: list[int]) -> int:
        return sum(params)


class Concurrency:
    """Counts how many calls run at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.current = 0
        self.peak = 0

    def __enter__(self) -> None:
        with self.lock:
            self.current += 1
            self.peak = max(self.peak, self.current)

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.current -= 1


batch_gauge = Concurrency()


class SlowParams(BaseModel):
    n: int
    fail: bool = False


class BatchSlowJob(Job[SlowParams, int]):
    def perform(self, params: SlowParams) -> int:
        with batch_gauge:
            time.sleep(0.05)
        if params.fail:
            raise BoomError(f"item {params.n} failed")
        return params.n * 10


class AsyncBatchJob(Job[SlowParams, int]):
    async def perform(self, params: SlowParams) -> int:
        with batch_gauge:
            await asyncio.sleep(0.05)
        if params.fail:
            raise BoomError(f"item {params.n} failed")
        return params.n * 10


class EmailParams(TypedDict):
    to: str
    subject: str


def send_email(params: EmailParams) -> dict[str, bool]:
    return {"sent": params["to"].endswith("@example.com")}


SendEmail = create_job("SendEmail", send_email)


@job(queue="reports", max_attempts=2)
async def build_report(params: dict[str, Any]) -> str:
    return f"report for {params['month']}"


class TimeoutJob(Job[None, str]):
    timeout = 0.2
    max_attempts = 1

    async def perform(self, params: None) -> str:
        await asyncio.sleep(5)
        return "too late"


class SyncTimeoutJob(Job[None, str]):
    timeout = 0.2
    max_attempts = 1

    def perform(self, params: None) -> str:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            pass  # pure Python: the timeout interrupts it
        return "too late"


class DependentJob(Job[None, dict[str, Any]]):
    def perform(self, params: None) -> dict[str, Any]:
        return dict(self.dependency_results)
