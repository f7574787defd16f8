"""``python -m project_ideas``: what ``bin/generate-projects`` runs."""

from __future__ import annotations

from project_ideas.cli import main

raise SystemExit(main())
