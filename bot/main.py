"""Running the bot on Telegram: build the Application around the dialog core and run it."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlparse

from telegram import Update
from telegram.ext import Application, ApplicationBuilder

from bot.background import start_background
from bot.config import Settings
from bot.dialog.core import Dialog
from bot.handlers import register
from bot.handlers.flood import FloodLimiter
from bot.handlers.menus import publish_menus
from bot.handlers.sender import TelegramSender
from bot.logs import setup_logging
from bot.outbox import Outbox
from bot.update_processor import PerUserUpdateProcessor
from storage.db import make_engine, make_sessionmaker

log = logging.getLogger(__name__)


def make_dialog(settings: Settings) -> Dialog:
    engine = make_engine(settings.db_url)
    return Dialog(
        make_sessionmaker(engine),
        data_dir=settings.data_dir,
        tz=settings.tz,
        locale=settings.bot_locale,
        bot_username=(settings.telegram_bot_username or "").lstrip("@") or None,
    )


def build_application(settings: Settings, dialog: Dialog, outbox: Outbox | None = None) -> Application:
    """The Telegram Application around the dialog; its Bot joins ``outbox`` (a new one if none),
    which the handlers find in ``bot_data["outbox"]``. Every request of the Bot goes through
    one rate limiter: Telegram's flood limits, and retries of what surely did not go through."""
    assert settings.token, "a token is needed to build the Telegram application"
    app = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_file_base_url)
        .rate_limiter(FloodLimiter(settings.telegram_messages_per_second))
        .job_queue(None)  # PTB would start an idle APScheduler of its own: bot/background.py has the one
        .concurrent_updates(PerUserUpdateProcessor(256))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )

    async def blocked(chat_id: str) -> None:
        await dialog.mark_blocked("telegram", chat_id)

    outbox = outbox if outbox is not None else Outbox()
    outbox.add("telegram", TelegramSender(app.bot, on_blocked=blocked))
    app.bot_data["dialog"] = dialog
    app.bot_data["settings"] = settings
    app.bot_data["outbox"] = outbox
    register(app)
    return app


async def _post_init(app: Application) -> None:
    """Publish the command menus, start the background jobs."""
    dialog: Dialog = app.bot_data["dialog"]
    # Each person's menu of their role; a request a person, so in the background.
    app.bot_data["menus"] = asyncio.create_task(publish_menus(app.bot, dialog), name="menus")
    app.bot_data["scheduler"] = start_background(app.bot_data["settings"], dialog, app.bot_data["outbox"])
    if dialog.bot_username is None:  # for invitation links made in the chat
        dialog.bot_username = app.bot.username
    log.info("bot @%s ready", app.bot.username)


async def _post_shutdown(app: Application) -> None:
    if (menus := app.bot_data.get("menus")) is not None:
        menus.cancel()
    if (scheduler := app.bot_data.get("scheduler")) is not None:
        scheduler.shutdown(wait=False)
    dialog: Dialog = app.bot_data["dialog"]
    await dialog.close()


def run_bot(settings: Settings) -> None:
    setup_logging(settings.log_level)
    dialog = make_dialog(settings)
    outbox = Outbox()  # each channel started below adds its sender
    if not settings.token:  # WeCom alone
        from bot.wecom import run_wecom

        run_wecom(settings, dialog, outbox)
        return
    app = build_application(settings, dialog, outbox)
    if settings.wecom_enabled:  # WeCom beside Telegram, in the same event loop
        from bot.wecom import attach_to_application

        attach_to_application(app, settings, dialog, outbox)
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
