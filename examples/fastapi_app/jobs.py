"""The shop's jobs. A worker runs them: ``jobmill worker --import fastapi_app.jobs``."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel
from sqlalchemy import func, select

from fastapi_app import database
from fastapi_app.database import Order
from jobmill import Job


class ReceiptParams(BaseModel):
    order_id: int


class SendReceiptJob(Job[ReceiptParams, str]):
    """Email the receipt of an order (here: mark it sent); returns the address."""

    queue = "mail"
    max_attempts = 5

    def perform(self, params: ReceiptParams) -> str:
        with database.session() as db:
            order = db.get_one(Order, params.order_id)
            order.receipt_sent = True  # idempotent: a second run sends nothing new
            db.commit()
            return order.email


# --8<-- [start:report_job]
class ReportParams(BaseModel):
    min_total_cents: int = 0


class SalesReport(BaseModel):
    orders: int
    revenue_cents: int


class BuildSalesReportJob(Job[ReportParams, SalesReport]):
    """Count orders and revenue (async: it could await a warehouse API)."""

    queue = "reports"

    async def perform(self, params: ReportParams) -> SalesReport:
        await self.update_progress(10, "querying orders")
        orders, revenue = await asyncio.to_thread(_totals, params.min_total_cents)
        return SalesReport(orders=orders, revenue_cents=revenue)


# --8<-- [end:report_job]


def _totals(min_total_cents: int) -> tuple[int, int]:
    query = select(func.count(), func.coalesce(func.sum(Order.total_cents), 0)).where(
        Order.total_cents >= min_total_cents
    )
    with database.session() as db:
        count, revenue = db.execute(query).one()
        return int(count), int(revenue)
