"""What a jobmill worker imports: ``jobmill worker --import djangosite.jobmill_jobs``.

It sets Django up (so jobs may use the ORM, and the apps' ``ready()`` configures
jobmill from the settings), then imports every installed app's ``jobs`` module,
which registers their job classes.
"""

import os

import django
from django.utils.module_loading import autodiscover_modules

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djangosite.settings")
django.setup()
autodiscover_modules("jobs")
