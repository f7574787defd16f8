"""Recurring jobs: cron expressions on the ``cron_jobs`` table, run by a scheduler."""
