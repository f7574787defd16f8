"""Subscribe (the confirmation email is queued when the transaction commits),
and look a subscription up."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

import jobmill
from subscriptions.jobs import SendConfirmationEmailJob
from subscriptions.models import Subscription


# --8<-- [start:subscribe]
def queue_confirmation(subscription_id: int) -> None:
    job_id = SendConfirmationEmailJob.later(subscription_id=subscription_id)
    Subscription.objects.filter(pk=subscription_id).update(confirmation_job_id=job_id)


@csrf_exempt  # a JSON API for the demo; a form view with {% csrf_token %} works the same
@require_POST
def subscribe(request: HttpRequest) -> JsonResponse:
    try:
        email = str(json.loads(request.body or b"{}").get("email", "")).strip()
        validate_email(email)
    except (ValueError, AttributeError, ValidationError):
        return JsonResponse({"error": "email: expected an address"}, status=422)
    try:
        with transaction.atomic():
            subscription = Subscription.objects.create(email=email)
            # Runs only if this transaction commits; a rollback queues nothing.
            transaction.on_commit(lambda: queue_confirmation(subscription.pk))
    except IntegrityError:
        return JsonResponse({"error": f"{email} is already subscribed"}, status=409)
    subscription.refresh_from_db()
    return JsonResponse(
        {"id": subscription.pk, "confirmation_job_id": subscription.confirmation_job_id},
        status=201,
    )


# --8<-- [end:subscribe]


@require_GET
def subscription(request: HttpRequest, pk: int) -> JsonResponse:
    found = get_object_or_404(Subscription, pk=pk)
    job = jobmill.get(found.confirmation_job_id) if found.confirmation_job_id else None
    return JsonResponse(
        {
            "email": found.email,
            "confirmed": found.confirmed,
            "confirmation_job": job.status if job else None,
        }
    )
