"""Text and commands: handed to the dialog as typed."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.dialog import Input
from bot.handlers.common import deliver, handle


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    inp = Input.parse_text(update.message.text, update_id=str(update.update_id))
    await deliver(update, context, await handle(update, context, inp))
