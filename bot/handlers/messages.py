"""Text and commands: handed to the dialog as typed; an edited message as an edit of it."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.dialog import Input
from bot.handlers.common import deliver, dialog_of, handle, who
from bot.handlers.menus import set_menu


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.message
    assert message is not None and message.text is not None
    inp = Input.parse_text(message.text, update_id=str(update.update_id), message_id=str(message.message_id))
    await deliver(update, context, await handle(update, context, inp))
    if inp.kind == "command" and inp.command == "start" and update.effective_chat is not None:
        # Someone may have just become an inspector or a supervisor: the menu of their role.
        names, locale = await dialog_of(context).menu_of(who(update))
        await set_menu(context.bot, update.effective_chat.id, names, locale)


async def on_edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A text message the person changed after sending it: the answer it gave changes."""
    message = update.edited_message
    assert message is not None and message.text is not None
    inp = Input(
        "edit", text=message.text, update_id=str(update.update_id), message_id=str(message.message_id)
    )
    await deliver(update, context, await handle(update, context, inp))
