"""A Flask newsletter that sends its welcome emails through jobmill.

- ``POST /signups`` stores a subscriber and enqueues the welcome email in the
  same transaction; ``GET /signups/<id>`` shows whether it went out.
- ``flask --app flask_app.app:create_app worker`` runs a jobmill worker with
  the application's configuration (``--burst`` to stop when idle).

Run it (one database for the newsletter and its queue)::

    export JOBMILL_DATABASE_URL=sqlite:///newsletter.db
    flask --app flask_app.app:create_app run --port 8003
    flask --app flask_app.app:create_app worker
"""
