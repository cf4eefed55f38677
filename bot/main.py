"""Running the bot on Telegram: build the Application around the dialog core and run it."""

from __future__ import annotations

import logging
from urllib.parse import urlparse

from telegram import BotCommand, Update
from telegram.ext import Application, ApplicationBuilder

from bot.config import Settings
from bot.dialog import Dialog
from bot.handlers import register
from bot.i18n import catalogue
from bot.logs import setup_logging
from bot.update_processor import PerUserUpdateProcessor
from storage.db import make_engine, make_sessionmaker, upgrade_url

log = logging.getLogger(__name__)

MENU = ("inspect", "cancel", "help", "start")


def make_dialog(settings: Settings) -> Dialog:
    engine = make_engine(settings.db_url)
    return Dialog(
        make_sessionmaker(engine), data_dir=settings.data_dir, tz=settings.tz, locale=settings.bot_locale
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
    register(app)
    return app


async def _post_init(app: Application) -> None:
    """Publish the command menu, in Chinese by default and in English for English clients."""
    dialog: Dialog = app.bot_data["dialog"]
    for locale, language in ((dialog.locale, None), ("en", "en")):
        texts = catalogue(locale)
        commands = [BotCommand(name, texts[f"commands.{name}"]) for name in MENU]
        await app.bot.set_my_commands(commands, language_code=language)
    log.info("bot @%s ready", app.bot.username)


async def _post_shutdown(app: Application) -> None:
    dialog: Dialog = app.bot_data["dialog"]
    await dialog.sessions.kw["bind"].dispose()


def run_bot(settings: Settings) -> None:
    setup_logging(settings.log_level)
    upgrade_url(settings.db_url)
    app = build_application(settings, make_dialog(settings))
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
