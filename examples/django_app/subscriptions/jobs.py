"""The subscriptions' jobs, run by ``jobmill worker --import djangosite.jobmill_jobs``."""

from __future__ import annotations

from django.db import close_old_connections
from pydantic import BaseModel

from jobmill import Job
from subscriptions.models import Subscription


# --8<-- [start:job]
class ConfirmationParams(BaseModel):
    subscription_id: int


class SendConfirmationEmailJob(Job[ConfirmationParams, str]):
    """Send the confirmation email (here: mark it confirmed); returns the address."""

    queue = "mail"
    max_attempts = 5

    def perform(self, params: ConfirmationParams) -> str:
        # Outside a request, Django does not recycle connections by itself.
        close_old_connections()
        try:
            subscription = Subscription.objects.get(pk=params.subscription_id)
            subscription.confirmed = True  # safe to run twice
            subscription.save(update_fields=["confirmed"])
            return subscription.email
        finally:
            close_old_connections()


# --8<-- [end:job]
