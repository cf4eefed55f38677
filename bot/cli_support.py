"""What every ``archive-bot`` sub-command shares: the settings, and where errors go."""

from __future__ import annotations

import typer
from rich.console import Console

from bot.config import Settings, SettingsError, load_settings

err = Console(stderr=True, soft_wrap=True)


def settings_or_exit() -> Settings:
    """The settings, or one line naming the bad one and exit status 2."""
    try:
        return load_settings()
    except SettingsError as exc:
        err.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from None
