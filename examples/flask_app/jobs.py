"""The newsletter's jobs: ``jobmill worker --import flask_app.jobs``, or the
application's own ``flask worker`` command."""

from __future__ import annotations

from pydantic import BaseModel

from flask_app.models import Subscriber, sessions_for
from jobmill import Job
from jobmill.runtime import get_settings


class WelcomeParams(BaseModel):
    subscriber_id: int


class SendWelcomeEmailJob(Job[WelcomeParams, str]):
    """Send the welcome email (here: mark the subscriber welcomed); returns the address."""

    queue = "mail"
    max_attempts = 5

    def perform(self, params: WelcomeParams) -> str:
        with sessions_for(get_settings().database_url)() as db:
            subscriber = db.get_one(Subscriber, params.subscriber_id)
            subscriber.welcomed = True  # safe to run twice
            db.commit()
            return subscriber.email
