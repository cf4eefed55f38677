"""``archive-bot run``, ``console`` and ``version``."""

from __future__ import annotations

import asyncio
from typing import IO

import typer

from bot.cli_support import err, h, settings_or_exit
from bot.i18n import t
from storage.db import AlreadyRunning, hold_database, is_sqlite, schema_versions, upgrade_url

# sysexits.h's EX_CONFIG: nothing went wrong, the bot is not configured yet (make run accepts it).
NOT_CONFIGURED = 78


def run() -> None:
    """Run the bot: Telegram (long polling, or a webhook when WEBHOOK_URL is set) and, when the
    WECOM_* settings are present, the WeCom callback server beside it (or alone)."""
    settings = settings_or_exit()
    if not settings.token and not settings.wecom_enabled:
        err.print(t("cli.no_token", settings.bot_locale), highlight=False)
        err.print(t("wecom.setup_hint", settings.bot_locale), highlight=False)
        raise typer.Exit(NOT_CONFIGURED)
    held = _schema_ready(settings.db_url, settings.bot_locale)
    from bot.main import run_bot

    try:
        run_bot(settings)
    finally:
        if held is not None:
            held.close()


def _schema_ready(url: str, locale: str) -> IO[bytes] | None:
    """The embedded SQLite database: this process's alone, and upgraded here. PostgreSQL:
    upgrading is a deploy step (``db upgrade``); the bot checks the schema is current."""
    if is_sqlite(url):
        try:
            held = hold_database(url)
        except AlreadyRunning as exc:
            err.print(t("db.already_running", locale, path=str(exc)), highlight=False)
            raise typer.Exit(1) from None
        upgrade_url(url)
        return held
    current, head = schema_versions(url)
    if current != head:
        key = "db.empty" if current is None else "db.outdated"
        err.print(t(key, locale, current=current, head=head), highlight=False)
        raise typer.Exit(2)
    return None


def console(
    as_person: str = typer.Option(None, "--as", help=h("console_as")),
    real: bool = typer.Option(False, "--real", help=h("console_real")),
    fresh: bool = typer.Option(False, "--fresh", help=h("console_fresh")),
) -> None:
    """Try the dialog in this terminal, without Telegram (on a demo database of its own)."""
    from bot.console import run_console

    asyncio.run(run_console(settings_or_exit(), as_person, real=real, fresh=fresh))


def version() -> None:
    """Print the version."""
    from bot import __version__

    typer.echo(__version__)
