"""The FastAPI recipe (examples/fastapi_app), on SQLite and PostgreSQL: an order
and its receipt job commit together, an async endpoint enqueues with ``alater``,
a real worker runs both, and the dashboard answers only the shop's staff."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

import jobmill
from fastapi_app import database
from fastapi_app.database import Order
from fastapi_app.jobs import BuildSalesReportJob, SendReceiptJob
from fastapi_app.main import create_app
from jobmill import runtime
from jobmill.store import JobFilter, Store

CUSTOMER = {"Authorization": "Bearer customer-token"}


# --8<-- [start:fixture]
@pytest.fixture
def shop(database_url: str) -> Iterator[TestClient]:
    # jobmill's tables do not exist yet: the app creates them at start-up, not
    # inside its first request's transaction (on SQLite that would deadlock).
    jobmill.configure(database_url=database_url, auto_upgrade=True, progress_interval=0)
    try:
        with TestClient(create_app(), base_url="http://localhost") as client:
            yield client
    finally:
        database.dispose()
        runtime.reset()


def run_worker() -> None:
    jobmill.Worker(burst=True, scheduler=False).run()


# --8<-- [end:fixture]


def receipt_jobs(store: Store) -> list[jobmill.JobMetadata]:
    return store.list_jobs(JobFilter(job_name=SendReceiptJob.job_name))


def test_an_order_and_its_receipt_job_commit_together(shop: TestClient) -> None:
    placed = shop.post(
        "/orders", json={"email": "ada@example.com", "total_cents": 1250}, headers=CUSTOMER
    )
    assert placed.status_code == 201, placed.text
    body = placed.json()
    receipt = jobmill.get(body["receipt_job_id"])
    assert (receipt.status, receipt.queue, receipt.params) == (
        "pending",
        "mail",
        {"order_id": body["order_id"]},
    )

    run_worker()
    assert jobmill.get(receipt.id).result == "ada@example.com"
    with database.session() as db:
        assert db.get_one(Order, body["order_id"]).receipt_sent is True


def test_a_refused_order_leaves_no_job(shop: TestClient) -> None:
    order = {"email": "ada@example.com", "total_cents": 1250}
    assert shop.post("/orders", json=order, headers=CUSTOMER).status_code == 201
    again = shop.post("/orders", json=order, headers=CUSTOMER)
    assert again.status_code == 409 and "already ordered" in again.text
    invalid = shop.post("/orders", json={"email": "nobody", "total_cents": 0}, headers=CUSTOMER)
    assert invalid.status_code == 422
    assert len(receipt_jobs(runtime.get_store())) == 1


def test_a_rolled_back_session_takes_its_job_with_it(shop: TestClient) -> None:
    with database.session() as db:
        db.add(order := Order(email="eve@example.com", total_cents=99))
        db.flush()
        job_id = SendReceiptJob.set(connection=db.connection()).later(order_id=order.id)
        db.rollback()
    with pytest.raises(jobmill.JobNotFound):
        jobmill.get(job_id)
    with database.session() as db:
        assert db.scalars(select(Order)).all() == []


def test_an_async_endpoint_enqueues_a_report_a_worker_builds(shop: TestClient) -> None:
    for n, email in enumerate(["a@example.com", "b@example.com", "c@example.com"], start=1):
        order = {"email": email, "total_cents": n * 1000}
        assert shop.post("/orders", json=order, headers=CUSTOMER).status_code == 201
    requested = shop.post("/reports", json={"min_total_cents": 2000}, headers=CUSTOMER)
    assert requested.status_code == 202
    job_id = requested.json()["job_id"]
    assert shop.get(f"/reports/{job_id}", headers=CUSTOMER).json()["status"] == "pending"

    run_worker()
    report = shop.get(f"/reports/{job_id}", headers=CUSTOMER).json()
    assert report == {
        "status": "completed",
        "progress": 100,
        "result": {"orders": 2, "revenue_cents": 5000},
    }
    assert jobmill.get(job_id).job_name == BuildSalesReportJob.job_name


def test_the_api_needs_a_signed_in_user(shop: TestClient) -> None:
    assert shop.post("/reports", json={}).status_code == 401
    assert shop.get("/reports/0190", headers=CUSTOMER).status_code == 404


def test_the_dashboard_under_jobs_is_for_staff_only(shop: TestClient) -> None:
    job_id = shop.post("/reports", json={}, headers=CUSTOMER).json()["job_id"]
    assert shop.get("/jobs/").status_code == 401
    assert shop.get("/jobs/", headers=CUSTOMER).status_code == 403

    shop.cookies.set("session", "staff-token")
    page = shop.get(f"/jobs/jobs/{job_id}")
    assert page.status_code == 200 and "BuildSalesReportJob" in page.text
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert token is not None
    cancelled = shop.post(f"/jobs/jobs/{job_id}/cancel", data={"csrf_token": token[1]})
    assert cancelled.status_code == 200
    assert jobmill.get(job_id).status == "cancelled"
    # The dashboard records the shop's staff member, not "anonymous".
    sources = [e.source for e in jobmill.history(job_id) if e.kind == "cancelled"]
    assert sources == ["dashboard:ada@testclient"]
