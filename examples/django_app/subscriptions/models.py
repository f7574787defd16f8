from django.db import models


class Subscription(models.Model):
    email = models.EmailField(unique=True)
    confirmed = models.BooleanField(default=False)
    confirmation_job_id = models.CharField(max_length=36, blank=True)
