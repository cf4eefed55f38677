"""``archive-bot run``, ``console`` and ``version``."""

from __future__ import annotations

import asyncio

import typer

from bot.cli_support import err, settings_or_exit
from bot.i18n import t


def run() -> None:
    """Run the bot: Telegram (long polling, or a webhook when WEBHOOK_URL is set) and, when the
    WECOM_* settings are present, the WeCom callback server beside it (or alone)."""
    settings = settings_or_exit()
    if not settings.token and not settings.wecom_enabled:
        err.print(t("cli.no_token", settings.bot_locale), highlight=False)
        err.print(t("wecom.setup_hint", settings.bot_locale), highlight=False)
        raise typer.Exit(1)
    from bot.main import run_bot

    run_bot(settings)


def console(
    as_person: str = typer.Option(
        None, "--as", help="The person to act as (id or name); default an inspector."
    ),
) -> None:
    """Try the dialog in this terminal, without Telegram (demo data on an empty database)."""
    from bot.console import run_console

    asyncio.run(run_console(settings_or_exit(), as_person))


def version() -> None:
    """Print the version."""
    from bot import __version__

    typer.echo(__version__)
