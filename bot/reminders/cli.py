"""``archive-bot reminders`` and ``archive-bot deadline``: for operators and tests."""

from __future__ import annotations

import asyncio
from datetime import datetime

import typer

from bot.cli_support import fail, h, out, settings_or_exit
from bot.config import Settings
from bot.dialog.types import Reply
from bot.i18n import t
from bot.leader import run_owner
from bot.outbox import Outbox, Outcome
from bot.reminders.rules import why_nothing_due
from bot.reminders.service import ReminderService, rules_from
from bot.reminders.targets_input import BadTarget, parse_deadline, parse_share
from storage.db import make_engine, make_sessionmaker, transaction, upgrade
from storage.models import YearTarget
from storage.queries.targets import set_year_target, year_target, year_targets

reminders_app = typer.Typer(help=h("reminders"), no_args_is_help=True)
deadline_app = typer.Typer(help=h("deadline"), no_args_is_help=True)
NOW = typer.Option(None, "--now", help=h("now"))


def _settings() -> Settings:
    return settings_or_exit()


def parse_now(value: str | None, settings: Settings) -> datetime:
    """ISO 8601; a time without an offset is local time (BOT_TIMEZONE)."""
    if value is None:
        return datetime.now(settings.tz)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise fail(t("cli.reminders.bad_time", settings.bot_locale, value=value)) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=settings.tz)


class _Printer:
    """A sender for previews: prints instead of sending."""

    async def send(self, channel: str, external_id: str, reply: Reply) -> Outcome:
        return "sent"


@reminders_app.command("preview", help=h("reminders_preview"))
def preview(now: str = NOW) -> None:
    """Print who would get what at NOW, without sending or recording anything."""
    settings = _settings()
    loc = settings.bot_locale
    moment = parse_now(now, settings)

    async def go() -> None:
        engine = make_engine(settings.db_url)
        await upgrade(engine)
        sessions = make_sessionmaker(engine)
        service = ReminderService(sessions, _Printer(), settings.tz, rules_from(settings))
        planned = await service.due(moment)
        async with sessions() as session:
            target = await year_target(session, moment.astimezone(settings.tz).year)
        await engine.dispose()
        if not planned:
            key, params = why_nothing_due(moment.astimezone(settings.tz), target.deadline, service.rules)
            if "holiday" in params:
                params["holiday"] = t(str(params["holiday"]), loc)
            out.print(t(key, loc, **params), markup=False)
        for item in planned:
            who = item.recipient
            head = t(
                "cli.reminders.item",
                loc,
                rule=item.rule,
                name=who.name,
                channel=who.channel,
                account=who.external_id,
                occasion=item.occasion,
            )
            out.print(head, style="bold", markup=False)
            out.print(item.text + "\n", markup=False)

    asyncio.run(go())


@reminders_app.command("run", help=h("reminders_run"))
def run(now: str = NOW) -> None:
    """Send what is due at NOW (what was sent already is skipped)."""
    settings = _settings()
    moment = parse_now(now, settings)
    if not settings.token:
        raise fail(t("cli.reminders.no_token", settings.bot_locale))

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
            async with bot, run_owner(settings.db_url) as owner:
                service = ReminderService(
                    make_sessionmaker(engine),
                    Outbox({"telegram": TelegramSender(bot)}),
                    settings.tz,
                    rules_from(settings),
                    channels=("telegram",),
                    owner=owner,
                )
                report = await service.run_due(moment)
        except TelegramError as exc:
            url = settings.telegram_api_base_url
            raise fail(t("cli.reminders.unreachable", settings.bot_locale, url=url, error=str(exc))) from None
        finally:
            await engine.dispose()
        out.print(t("cli.reminders.sent", settings.bot_locale, **vars(report)), markup=False)

    asyncio.run(go())


@deadline_app.command("set", help=h("deadline_set"))
def set_deadline(
    year: int = typer.Option(..., "--year", min=2000, max=2100, help=h("deadline_year")),
    date_: str = typer.Option(..., "--date", help=h("deadline_date")),
    township_target: str = typer.Option(None, "--township-target", help=h("township_target")),
    village_target: str = typer.Option(None, "--village-target", help=h("village_target")),
) -> None:
    """Set a year's deadline and targets."""
    settings = _settings()
    loc = settings.bot_locale
    try:
        deadline = parse_deadline(date_, year)
        shares = parse_share(township_target), parse_share(village_target)
    except BadTarget as exc:
        raise fail(t(exc.args[0], loc, date=exc.args[1])) from None

    async def go() -> None:
        engine = make_engine(settings.db_url)
        await upgrade(engine)
        async with transaction(make_sessionmaker(engine)) as session:
            row = await set_year_target(session, year, deadline, *shares)
            out.print(t("deadlines.saved", loc, line=_line(row, loc)), markup=False)
        await engine.dispose()

    asyncio.run(go())


def _line(row: YearTarget, loc: str) -> str:
    return t(
        "deadlines.line",
        loc,
        year=row.year,
        deadline=row.deadline.isoformat(),
        township=round(row.township_target * 100),
        village=round(row.village_target * 100),
    )


@deadline_app.command("list", help=h("deadline_list"))
def list_deadlines() -> None:
    """Show every configured year."""
    settings = _settings()

    async def go() -> None:
        engine = make_engine(settings.db_url)
        await upgrade(engine)
        async with make_sessionmaker(engine)() as session:
            rows = await year_targets(session)
        await engine.dispose()
        if not rows:
            out.print(t("cli.deadline.none", settings.bot_locale), markup=False)
        for row in rows:
            out.print(_line(row, settings.bot_locale), markup=False)

    asyncio.run(go())
