"""Alembic migrations of the application's tables.

Their revision is kept in ``project_ideas_alembic_version``.
"""
