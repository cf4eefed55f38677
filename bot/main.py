"""Running the bot on Telegram: build the Application around the dialog core and run it."""

from __future__ import annotations

import logging
from urllib.parse import urlparse

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from telegram import BotCommand, Update
from telegram.ext import Application, ApplicationBuilder

from bot.config import Settings
from bot.dialog.core import Dialog
from bot.handlers import register
from bot.handlers.sender import TelegramSender
from bot.i18n import catalogue
from bot.logs import setup_logging
from bot.reminders.fanout import Sender
from bot.reminders.service import ReminderService, rules_from
from bot.update_processor import PerUserUpdateProcessor
from storage.db import make_engine, make_sessionmaker

log = logging.getLogger(__name__)

MENU = (
    "inspect",
    "cancel",
    "help",
    "start",
    "status",
    "summary",
    "report",
    "export",
    "chart",
    "deadlines",
    "mute",
    "unmute",
    "history",
    "return",
    "invite",
)


def make_dialog(settings: Settings) -> Dialog:
    engine = make_engine(settings.db_url)
    return Dialog(
        make_sessionmaker(engine),
        data_dir=settings.data_dir,
        tz=settings.tz,
        locale=settings.bot_locale,
        bot_username=(settings.telegram_bot_username or "").lstrip("@") or None,
    )


def build_application(settings: Settings, dialog: Dialog) -> Application:
    assert settings.token, "a token is needed to build the Telegram application"
    app = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_file_base_url)
        .concurrent_updates(PerUserUpdateProcessor(256))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )
    app.bot_data["dialog"] = dialog
    app.bot_data["settings"] = settings
    register(app)
    return app


async def _post_init(app: Application) -> None:
    """Publish the command menu, in Chinese by default and in English for English clients."""
    dialog: Dialog = app.bot_data["dialog"]
    for locale, language in ((dialog.locale, None), ("en", "en")):
        texts = catalogue(locale)
        commands = [BotCommand(name, texts[f"commands.{name}"]) for name in MENU]
        await app.bot.set_my_commands(commands, language_code=language)
    settings: Settings = app.bot_data["settings"]
    scheduler = AsyncIOScheduler(timezone=settings.tz)
    scheduler.add_job(dialog.prune, CronTrigger(hour=3, minute=17, timezone=settings.tz), id="prune")
    if settings.reminders_enabled:
        start_reminders(app, settings, dialog, scheduler)
    scheduler.start()
    app.bot_data["scheduler"] = scheduler
    if dialog.bot_username is None:  # for invitation links made in the chat
        dialog.bot_username = app.bot.username
    log.info("bot @%s ready", app.bot.username)


def reminder_sender(app: Application) -> Sender:
    """Telegram's sender; with WeCom running beside it, each reminder goes by its recipient's channel."""
    telegram = TelegramSender(app.bot)
    wecom = app.bot_data.get("wecom")
    if wecom is None:
        return telegram
    from bot.wecom import ChannelSenders

    return ChannelSenders(telegram=telegram, wecom=wecom.sender)


def start_reminders(
    app: Application, settings: Settings, dialog: Dialog, scheduler: AsyncIOScheduler
) -> None:
    """Reminders on APScheduler in the bot's own event loop; the jobs are derived from the
    settings and the database, which stays the source of truth (a restart rebuilds them)."""
    service = ReminderService(
        dialog.sessions,
        reminder_sender(app),
        settings.tz,
        rules_from(settings),
        settings.reminder_rate_per_second,
        channels=("telegram", "wecom") if app.bot_data.get("wecom") is not None else ("telegram",),
    )
    service.schedule(scheduler)


async def _post_shutdown(app: Application) -> None:
    if (scheduler := app.bot_data.get("scheduler")) is not None:
        scheduler.shutdown(wait=False)
    dialog: Dialog = app.bot_data["dialog"]
    await dialog.close()


def run_bot(settings: Settings) -> None:
    setup_logging(settings.log_level)
    dialog = make_dialog(settings)
    if not settings.token:  # WeCom alone
        from bot.wecom import run_wecom

        run_wecom(settings, dialog)
        return
    app = build_application(settings, dialog)
    if settings.wecom_enabled:  # WeCom beside Telegram, in the same event loop
        from bot.wecom import attach_to_application

        attach_to_application(app, settings, dialog)
    if settings.webhook_url:
        secret = settings.webhook_secret_token.get_secret_value() if settings.webhook_secret_token else None
        app.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=urlparse(settings.webhook_url).path.lstrip("/"),
            webhook_url=settings.webhook_url,
            secret_token=secret,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
