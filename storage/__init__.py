"""Persistence: models, engine and sessions, migrations and queries."""
