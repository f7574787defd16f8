"""The newsletter's Flask application: ``flask --app flask_app.app:create_app run``."""

from __future__ import annotations

from typing import Any

import click
from flask import Flask, abort, g, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import jobmill
from flask_app.jobs import SendWelcomeEmailJob
from flask_app.models import Subscriber, sessions_for
from jobmill.runtime import get_settings, get_store


def create_app(database_url: str | None = None) -> Flask:
    """The newsletter on ``database_url`` (default: jobmill's ``database_url``)."""
    if database_url is not None:
        jobmill.configure(database_url=database_url)
    # jobmill's tables are created (or upgraded) now, not inside the first
    # signup's write transaction, which on SQLite they would wait for.
    get_store()
    app = Flask(__name__)
    sessions = sessions_for(get_settings().database_url)

    def db() -> Session:
        if "db" not in g:
            g.db = sessions()
        return g.db  # type: ignore[no-any-return]

    @app.teardown_appcontext
    def close_session(_exc: BaseException | None) -> None:
        session = g.pop("db", None)
        if session is not None:
            session.close()

    # --8<-- [start:sign_up]
    @app.post("/signups")
    def sign_up() -> tuple[dict[str, Any], int]:
        email = str((request.get_json(silent=True) or request.form).get("email", "")).strip()
        if "@" not in email:
            return {"error": f"email: expected an address, got {email!r}"}, 422
        subscriber = Subscriber(email=email)
        db().add(subscriber)
        try:
            db().flush()
        except IntegrityError:
            db().rollback()
            return {"error": f"{email} is already subscribed"}, 409
        # On the session's connection: the email is queued only if the signup commits.
        subscriber.welcome_job_id = SendWelcomeEmailJob.set(connection=db().connection()).later(
            subscriber_id=subscriber.id
        )
        db().commit()
        return {"id": subscriber.id, "welcome_job_id": subscriber.welcome_job_id}, 201

    # --8<-- [end:sign_up]

    @app.get("/signups/<int:subscriber_id>")
    def signup_status(subscriber_id: int) -> dict[str, Any]:
        subscriber = db().get(Subscriber, subscriber_id) or abort(404)
        welcome = jobmill.get(subscriber.welcome_job_id) if subscriber.welcome_job_id else None
        return {
            "email": subscriber.email,
            "welcomed": subscriber.welcomed,
            "welcome_job": welcome.status if welcome else None,
        }

    # --8<-- [start:worker]
    @app.cli.command("worker")
    @click.option("--burst", is_flag=True, help="Stop once no job is ready.")
    @click.option("--concurrency", type=int, default=None, help="Jobs run at once.")
    def worker(burst: bool, concurrency: int | None) -> None:
        """Run a jobmill worker for this application's jobs."""
        jobmill.Worker(concurrency=concurrency, burst=burst).run()

    # --8<-- [end:worker]

    return app
