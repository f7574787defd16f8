"""project_ideas: the example application of jobmill (the seed's quick start).

Users, teams, projects and tags in the same database as jobmill's queue; an
agent that proposes project ideas (offline by default, or any pydantic-ai
model named by ``PROJECT_IDEAS_MODEL``); and ``GenerateProjectIdeasJob``,
which saves them. ``bin/generate-projects`` runs it with zero configuration.
"""
