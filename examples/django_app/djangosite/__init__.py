"""A Django site whose subscriptions send their confirmation email through jobmill.

Run it from this directory (one database for the site and its queue)::

    export DATABASE_URL=sqlite:///$PWD/newsletter.db
    python manage.py migrate && jobmill db upgrade
    python manage.py runserver 127.0.0.1:8004
    jobmill worker --import djangosite.jobmill_jobs
"""
