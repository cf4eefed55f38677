"""Errors: logged with their context, and the person told something went wrong."""

from __future__ import annotations

import logging
from contextlib import suppress

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.i18n import t

log = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    if isinstance(update, Update):
        user = update.effective_user
        log.error(
            "update %s from user %s failed",
            update.update_id,
            user.id if user else "-",
            exc_info=context.error,
        )
        if update.effective_chat is not None:
            with suppress(TelegramError):
                await context.bot.send_message(update.effective_chat.id, t("general.error"))
    else:
        log.error("error outside an update", exc_info=context.error)
