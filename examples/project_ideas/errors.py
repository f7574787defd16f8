"""The application's errors: each says what was wrong and what to do."""

from __future__ import annotations


class NotFound(LookupError):
    """A team or user the caller named does not exist."""


class ModelUnavailable(RuntimeError):
    """The configured model cannot be used (its provider package or API key is missing)."""
