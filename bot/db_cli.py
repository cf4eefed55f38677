"""``archive-bot db``: the database schema."""

from __future__ import annotations

import typer

from bot.cli_support import settings_or_exit
from storage.db import safe_url, upgrade_url

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Create or upgrade the schema (harmless to run twice)."""
    settings = settings_or_exit()
    upgrade_url(settings.db_url, revision)
    typer.echo(f"Schema is at {revision}: {safe_url(settings.db_url)}")
