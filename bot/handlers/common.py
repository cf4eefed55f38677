"""Running the dialog for an update and sending its replies to the chat."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from telegram import Message, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest, Forbidden, TimedOut
from telegram.ext import ContextTypes

from bot.dialog import Input, Reply, Who
from bot.dialog.core import Dialog
from bot.handlers.sender import MAX_TEXT, keyboard, send_reply
from bot.outbox import Outbox

log = logging.getLogger(__name__)

TYPING_AFTER = 2.0  # seconds before "typing…" is shown: a reply that slow is a document being made


def dialog_of(context: ContextTypes.DEFAULT_TYPE) -> Dialog:
    dialog: Dialog = context.application.bot_data["dialog"]
    return dialog


def outbox_of(context: ContextTypes.DEFAULT_TYPE) -> Outbox:
    outbox: Outbox = context.application.bot_data["outbox"]
    return outbox


def who(update: Update) -> Who:
    user = update.effective_user
    assert user is not None
    return Who("telegram", str(user.id), user.full_name, user.language_code)


async def deliver(
    update: Update, context: ContextTypes.DEFAULT_TYPE, replies: list[Reply], pressed: Message | None = None
) -> None:
    """Send the replies in order; an ``edit`` reply replaces the message whose button was pressed.
    Replies addressed to someone else go to the outbox after the sender's own."""
    chat = update.effective_chat
    assert chat is not None
    bot = context.bot
    try:
        for reply in replies:
            if reply.to is not None:
                continue
            try:
                if reply.edit and pressed is not None and len(reply.text) <= MAX_TEXT // 2:
                    with suppress(BadRequest):  # "message is not modified" and too-old messages
                        await bot.edit_message_text(
                            reply.text,
                            chat_id=chat.id,
                            message_id=pressed.message_id,
                            api_kwargs=keyboard(reply),
                        )
                elif reply.text or reply.file is not None:
                    await send_reply(bot, chat.id, reply)
            except TimedOut as exc:  # it may have arrived: not sent again, and the rest follow
                log.warning("reply to chat %s timed out (%s); not sent again", chat.id, exc)
    except Forbidden:
        log.info("chat %s blocked the bot; marking inactive", chat.id)
        await dialog_of(context).mark_blocked("telegram", str(chat.id))
    await dialog_of(context).forward(outbox_of(context), replies)


async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE, inp: Input) -> list[Reply]:
    """Run the dialog, showing "typing…" if it takes a moment (a timer, not a task per update:
    most replies come long before it would fire)."""
    chat = update.effective_chat
    typing: list[asyncio.Task[None]] = []
    timer = None
    if chat is not None:
        timer = asyncio.get_running_loop().call_later(
            TYPING_AFTER, lambda: typing.append(asyncio.ensure_future(_typing(context, chat.id)))
        )
    try:
        return await dialog_of(context).handle(who(update), inp)
    finally:
        if timer is not None:
            timer.cancel()
        for task in typing:
            task.cancel()


async def _typing(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> None:
    with suppress(Exception):
        await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
