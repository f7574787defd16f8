from django.apps import AppConfig
from django.conf import settings

import jobmill


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"

    def ready(self) -> None:
        # One database for the site and its queue, in the web process and the worker.
        jobmill.configure(database_url=settings.DATABASE_URL)
