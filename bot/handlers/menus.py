"""Each person's command menu in Telegram: the commands of their role (setMyCommands for
their chat), and for anyone else only how to start."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from bot.dialog.core import Dialog
from bot.dialog.routes import MENUS
from bot.i18n import catalogue

log = logging.getLogger(__name__)


def _commands(names: tuple[str, ...], locale: str) -> list[BotCommand]:
    texts = catalogue(locale)
    # A feature's own commands are described in its catalogue section (``<section>.commands``).
    return [
        BotCommand(name, texts.get(f"commands.{name}") or texts.get(f"rectification.commands.{name}", name))
        for name in names
    ]


async def set_menu(bot: Bot, chat_id: int, names: tuple[str, ...], locale: str) -> None:
    try:
        await bot.set_my_commands(_commands(names, locale), scope=BotCommandScopeChat(chat_id))
    except TelegramError as exc:  # a chat that blocked the bot, say: the menu is not worth a failure
        log.info("command menu for chat %s not set: %s", chat_id, exc)


async def publish_menus(bot: Bot, dialog: Dialog) -> None:
    """The default menu (a stranger's), in the bot's language and in English, then each
    known person's; run in the background at start (one request a person, paced)."""
    for locale, language in ((dialog.locale, None), ("en", "en")):
        await bot.set_my_commands(
            _commands(MENUS[""], locale), scope=BotCommandScopeDefault(), language_code=language
        )
    for account, names, locale in await dialog.menus("telegram"):
        if account.lstrip("-").isdigit():
            await set_menu(bot, int(account), names, locale)
