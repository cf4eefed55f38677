"""``archive-bot reminders`` and ``archive-bot deadline``: for operators and tests."""

from __future__ import annotations

import asyncio
from datetime import date, datetime

import typer
from rich.console import Console
from rich.table import Table

from bot.cli_support import settings_or_exit
from bot.config import Settings
from bot.dialog.types import Reply
from bot.outbox import Outbox, Outcome
from bot.reminders.service import ReminderService, rules_from
from storage.db import make_engine, make_sessionmaker, transaction, upgrade
from storage.queries.targets import set_year_target, year_targets

reminders_app = typer.Typer(help="Reminders: send what is due, or preview it.", no_args_is_help=True)
deadline_app = typer.Typer(help="Each year's deadline and targets.", no_args_is_help=True)
out = Console(highlight=False, soft_wrap=True)


def _settings() -> Settings:
    return settings_or_exit()


def parse_now(value: str | None, settings: Settings) -> datetime:
    """ISO 8601; a time without an offset is local time (BOT_TIMEZONE)."""
    if value is None:
        return datetime.now(settings.tz)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"not an ISO 8601 time: {value!r} (e.g. 2026-12-20T09:00)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=settings.tz)


class _Printer:
    """A sender for previews: prints instead of sending."""

    async def send(self, channel: str, external_id: str, reply: Reply) -> Outcome:
        return "sent"


@reminders_app.command("preview")
def preview(now: str = typer.Option(None, help="The moment, ISO 8601 (default: now).")) -> None:
    """Print who would get what at NOW, without sending or recording anything."""
    settings = _settings()

    async def go() -> None:
        engine = make_engine(settings.db_url)
        await upgrade(engine)
        service = ReminderService(make_sessionmaker(engine), _Printer(), settings.tz, rules_from(settings))
        planned = await service.due(parse_now(now, settings))
        await engine.dispose()
        if not planned:
            out.print("No reminder is due at this moment.")
        for item in planned:
            who = item.recipient
            out.print(
                f"[bold]{item.rule} → {who.name} ({who.channel}:{who.external_id}) · {item.occasion}[/bold]"
            )
            out.print(item.text + "\n")

    asyncio.run(go())


@reminders_app.command("run")
def run(now: str = typer.Option(None, help="The moment, ISO 8601 (default: now).")) -> None:
    """Send what is due at NOW (what was sent already is skipped)."""
    settings = _settings()
    moment = parse_now(now, settings)
    if not settings.token:
        out.print("TELEGRAM_BOT_TOKEN is not set: nothing can be sent. Try `reminders preview`.")
        raise typer.Exit(1)

    async def go() -> None:
        from telegram.error import TelegramError
        from telegram.ext import ExtBot

        from bot.handlers.flood import FloodLimiter
        from bot.handlers.sender import TelegramSender

        engine = make_engine(settings.db_url)
        await upgrade(engine)
        bot = ExtBot(
            settings.token or "",
            base_url=settings.telegram_api_base_url,
            base_file_url=settings.telegram_file_base_url,
            rate_limiter=FloodLimiter(settings.telegram_messages_per_second),
        )
        try:
            async with bot:
                service = ReminderService(
                    make_sessionmaker(engine),
                    Outbox({"telegram": TelegramSender(bot)}),
                    settings.tz,
                    rules_from(settings),
                    channels=("telegram",),
                )
                report = await service.run_due(moment)
        except TelegramError as exc:
            out.print(f"Cannot reach the Telegram Bot API ({settings.telegram_api_base_url}): {exc}")
            raise typer.Exit(1) from None
        finally:
            await engine.dispose()
        out.print(str(report))

    asyncio.run(go())


def _share(value: float | None) -> float | None:
    if value is None:
        return None
    share = value / 100 if value > 1 else value
    if not 0 <= share <= 1:
        raise typer.BadParameter("a target is a percentage between 0 and 100")
    return share


@deadline_app.command("set")
def set_deadline(
    year: int = typer.Option(..., min=2000, max=2100),
    date_: str = typer.Option(..., "--date", help="YYYY-MM-DD"),
    township_target: float = typer.Option(None, help="Share of townships completing the filing task, %"),
    village_target: float = typer.Option(None, help="Village archive establishment rate, %"),
) -> None:
    """Set a year's deadline and targets."""
    settings = _settings()
    try:
        deadline = date.fromisoformat(date_)
    except ValueError:
        raise typer.BadParameter(f"not a date: {date_!r} (e.g. {year}-12-31)") from None

    async def go() -> None:
        engine = make_engine(settings.db_url)
        await upgrade(engine)
        async with transaction(make_sessionmaker(engine)) as session:
            row = await set_year_target(
                session, year, deadline, _share(township_target), _share(village_target)
            )
            out.print(
                f"{row.year}: deadline {row.deadline}, townships {row.township_target:.0%}, "
                f"villages {row.village_target:.0%}"
            )
        await engine.dispose()

    asyncio.run(go())


@deadline_app.command("list")
def list_deadlines() -> None:
    """Show every configured year."""
    settings = _settings()

    async def go() -> None:
        engine = make_engine(settings.db_url)
        await upgrade(engine)
        async with make_sessionmaker(engine)() as session:
            rows = await year_targets(session)
        await engine.dispose()
        table = Table("year", "deadline", "townships", "villages")
        for row in rows:
            table.add_row(
                str(row.year), str(row.deadline), f"{row.township_target:.0%}", f"{row.village_target:.0%}"
            )
        out.print(table)

    asyncio.run(go())
