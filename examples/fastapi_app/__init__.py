"""A FastAPI shop that queues its slow work on jobmill.

- ``POST /orders`` stores an order and enqueues its receipt in the same
  SQLAlchemy transaction: both exist, or neither does.
- ``POST /reports`` enqueues a report with ``await BuildSalesReportJob.alater()``;
  ``GET /reports/{job_id}`` shows where it is and its result.
- ``/jobs`` is jobmill's dashboard, behind the shop's own staff login.

Run it (one database for the shop and its queue)::

    export JOBMILL_DATABASE_URL=sqlite:///shop.db
    uvicorn --factory fastapi_app.main:create_app --port 8002
    jobmill worker --import fastapi_app.jobs
"""
