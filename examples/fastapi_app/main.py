"""The shop's FastAPI application: ``uvicorn --factory fastapi_app.main:create_app``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

import jobmill
from fastapi_app import database
from fastapi_app.auth import StaffOnly, User, current_user
from fastapi_app.database import Order
from fastapi_app.jobs import BuildSalesReportJob, ReportParams, SendReceiptJob
from jobmill.dashboard import create_app as create_dashboard
from jobmill.runtime import get_store

SignedIn = Annotated[User, Depends(current_user)]


class NewOrder(BaseModel):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    total_cents: int = Field(gt=0)


def create_app(database_url: str | None = None) -> FastAPI:
    """The shop on ``database_url`` (default: jobmill's), the dashboard at ``/jobs``."""
    if database_url is not None:
        jobmill.configure(database_url=database_url)
    # jobmill's tables are created (or upgraded) now, not on the first enqueue:
    # on SQLite that would happen inside the request's own write transaction,
    # and wait for it.
    get_store()
    database.setup(database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        database.dispose()

    app = FastAPI(title="shop", lifespan=lifespan)
    # The dashboard trusts the wrapper's login (external_auth) and records the
    # staff member's name with every retry, cancel and discard.
    app.mount("/jobs", StaffOnly(create_dashboard(external_auth=True)))

    # --8<-- [start:place_order]
    @app.post("/orders", status_code=201)
    def place_order(order: NewOrder, user: SignedIn) -> dict[str, Any]:
        with database.session() as db:
            row = Order(email=order.email, total_cents=order.total_cents)
            db.add(row)
            try:
                db.flush()  # the order's id, and a duplicate address fails here
            except IntegrityError:
                raise HTTPException(409, f"{order.email} already ordered") from None
            # Enqueued on the session's connection: committed with the order, or not at all.
            job_id = SendReceiptJob.set(connection=db.connection()).later(order_id=row.id)
            db.commit()
            return {"order_id": row.id, "receipt_job_id": job_id}

    # --8<-- [end:place_order]

    # --8<-- [start:request_report]
    @app.post("/reports", status_code=202)
    async def request_report(params: ReportParams, user: SignedIn) -> dict[str, str]:
        return {"job_id": await BuildSalesReportJob.alater(params)}

    # --8<-- [end:request_report]

    @app.get("/reports/{job_id}")
    def report_status(job_id: str, user: SignedIn) -> dict[str, Any]:
        try:
            report = jobmill.get(job_id)
        except (jobmill.JobNotFound, jobmill.AmbiguousJobId) as exc:
            raise HTTPException(404, str(exc)) from None
        if report.job_name != BuildSalesReportJob.job_name:
            raise HTTPException(404, f"{job_id} is not a report")
        return {"status": report.status, "progress": report.progress, "result": report.result}

    return app
