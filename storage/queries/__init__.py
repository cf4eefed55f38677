"""Queries as plain functions taking a session, grouped by what they are about."""
