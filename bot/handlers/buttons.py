"""Inline button presses: the payload goes to the dialog; stale ones get a short notice."""

from __future__ import annotations

from contextlib import suppress

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.dialog import Input
from bot.handlers.common import deliver, handle


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    replies = await handle(
        update, context, Input("button", data=query.data or "", update_id=str(update.update_id))
    )
    notice = next((r.notice for r in replies if r.notice), None)
    with suppress(TelegramError):  # the spinner stops by itself if this answer is lost
        await query.answer(notice)
    pressed = query.message if isinstance(query.message, Message) else None
    await deliver(update, context, [r for r in replies if r.text or r.file], pressed)
