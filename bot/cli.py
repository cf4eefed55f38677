"""The ``archive-bot`` command line."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from bot.admin import cli as admin_cli
from bot.config import Settings, SettingsError, load_settings
from bot.engine.cli import checklist_app
from bot.i18n import t
from bot.reminders.cli import deadline_app, reminders_app
from bot.reports import cli as reports_cli
from bot.wecom.cli import wecom_app

app = typer.Typer(
    help="档案督查助手 — the archive inspection bot.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(checklist_app, name="checklist")
app.add_typer(admin_cli.townships_app, name="townships")
app.add_typer(admin_cli.users_app, name="users")
app.command("invite")(admin_cli.invite)
app.command("assign")(admin_cli.assign)
app.command("unassign")(admin_cli.unassign)
app.add_typer(reminders_app, name="reminders")
app.add_typer(deadline_app, name="deadline")
app.add_typer(wecom_app, name="wecom")
app.command("report")(reports_cli.report)
app.command("export")(reports_cli.export)
app.add_typer(reports_cli.team_app, name="team")

err = Console(stderr=True, soft_wrap=True)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        err.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from None


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Create or upgrade the schema (harmless to run twice)."""
    from storage.db import upgrade_url

    settings = settings_or_exit()
    upgrade_url(settings.db_url, revision)
    typer.echo(f"Schema is at {revision}: {_safe_url(settings.db_url)}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@app.command()
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


@app.command()
def console(
    as_person: str = typer.Option(
        None, "--as", help="The person to act as (id or name); default an inspector."
    ),
) -> None:
    """Try the dialog in this terminal, without Telegram (demo data on an empty database)."""
    import asyncio

    from bot.console import run_console

    asyncio.run(run_console(settings_or_exit(), as_person))


@app.command()
def version() -> None:
    """Print the version."""
    from bot import __version__

    typer.echo(__version__)


def main() -> None:  # pragma: no cover - console entry for ``python -m bot``
    sys.exit(app())
