"""What every ``archive-bot`` sub-command shares: the settings, and where errors go."""

from __future__ import annotations

import os

import typer
from rich.console import Console

from bot.config import Settings, SettingsError, load_settings
from bot.i18n import normalise_locale, t

# Nothing printed is read as markup: names, paths and inputs with "[...]" print as they are.
err = Console(stderr=True, soft_wrap=True, highlight=False, markup=False)
out = Console(soft_wrap=True, highlight=False, markup=False)

# The language of --help, read when the commands are defined: BOT_LOCALE (zh-CN unless en).
HELP_LOCALE = normalise_locale(os.environ.get("BOT_LOCALE"))


def h(key: str) -> str:
    """A command's or an option's help, from the catalogue."""
    return t(f"cli.help.{key}", HELP_LOCALE)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` as an error (as it is: no markup read in it) and the exit to raise."""
    err.print(message, style="red")
    return typer.Exit(code)


def settings_or_exit() -> Settings:
    """The settings, or one line naming the bad one and exit status 2."""
    try:
        return load_settings()
    except SettingsError as exc:
        err.print(str(exc), style="red")
        raise typer.Exit(2) from None
