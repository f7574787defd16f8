"""Jobs with the names a real application would have, for the dashboard's
screenshots in the documentation (tests/test_dashboard_browser.py)."""

from __future__ import annotations

import threading

from pydantic import BaseModel

from jobmill import Job

# The import waits here, so the screenshot catches it mid-way.
IMPORT_GATE = threading.Event()


class InvoiceParams(BaseModel):
    customer_id: int
    month: str = "2026-11"


class SendInvoiceJob(Job[InvoiceParams, dict]):
    queue = "mail"

    def perform(self, params: InvoiceParams) -> dict:
        self.update_progress(60, "rendering PDF")
        return {"invoice": f"INV-{params.customer_id:05d}-{params.month}", "pages": 2}


class ImageParams(BaseModel):
    path: str
    width: int = 1200


class ResizeImageJob(Job[ImageParams, str]):
    queue = "images"

    def perform(self, params: ImageParams) -> str:
        return f"{params.path.removesuffix('.jpg')}-{params.width}w.jpg"


class CrmParams(BaseModel):
    account: str


class SyncCrmAccountJob(Job[CrmParams, None]):
    max_attempts = 1

    def perform(self, params: CrmParams) -> None:
        raise ConnectionError(f"crm.example.com refused the connection for {params.account}")


class ImportParams(BaseModel):
    file: str


class ImportContactsJob(Job[ImportParams, dict]):
    max_attempts = 1

    def perform(self, params: ImportParams) -> dict:
        self.update_progress(40, "imported 400 of 1,000 contacts")
        if not IMPORT_GATE.wait(timeout=60):
            raise TimeoutError("the import was never let go")
        return {"imported": 1000}


class WeeklyReportJob(Job[dict, str]):
    def perform(self, params: dict) -> str:
        return "sent"
