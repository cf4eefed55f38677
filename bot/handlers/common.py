"""Sending the dialog's replies through Telegram, surviving its faults."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import timedelta
from typing import Any, TypeVar

from telegram import Message, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import ContextTypes

from bot.dialog import Input, Reply, Who
from bot.dialog.core import Dialog

log = logging.getLogger(__name__)
T = TypeVar("T")

ATTEMPTS = 5
TYPING_AFTER = 0.8  # seconds before "typing…" is shown on a slow reply


def dialog_of(context: ContextTypes.DEFAULT_TYPE) -> Dialog:
    dialog: Dialog = context.application.bot_data["dialog"]
    return dialog


def who(update: Update) -> Who:
    user = update.effective_user
    assert user is not None
    return Who("telegram", str(user.id), user.full_name, user.language_code)


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def with_retry(call: Callable[[], Awaitable[T]], what: str = "send") -> T:
    """Retry a Bot API call on 429 (after ``retry_after``) and on transient network or 5xx
    errors, a bounded number of times; other errors are raised at once."""
    for attempt in range(ATTEMPTS - 1):
        try:
            return await call()
        except RetryAfter as exc:
            delay = _seconds(exc.retry_after)
            log.warning("%s: flood control, retrying in %.1f s", what, delay)
        except BadRequest:
            raise
        except (TimedOut, NetworkError) as exc:
            delay = min(0.25 * 2**attempt, 4.0)
            log.warning("%s: %s, retry %d in %.2f s", what, exc, attempt + 1, delay)
        await asyncio.sleep(delay)
    return await call()


def keyboard(reply: Reply) -> dict[str, Any] | None:
    """The reply's buttons as the Bot API's ``reply_markup``, for ``api_kwargs``. Plain JSON, not
    PTB's ``InlineKeyboardMarkup``: building those objects only for PTB to turn them back into
    JSON cost about a tenth of a millisecond a message (bench/dialog_throughput.py)."""
    if not reply.buttons:
        return None
    rows = [[{"text": b.label, "callback_data": b.data} for b in row] for row in reply.buttons]
    return {"reply_markup": {"inline_keyboard": rows}}


async def deliver(
    update: Update, context: ContextTypes.DEFAULT_TYPE, replies: list[Reply], pressed: Message | None = None
) -> None:
    """Send the replies in order; an ``edit`` reply replaces the message whose button was pressed.
    Replies addressed to someone else (notifications) go to their chats after the sender's own."""
    chat = update.effective_chat
    assert chat is not None
    bot = context.bot
    own = [r for r in replies if r.to is None]
    try:
        for reply in own:
            if reply.edit and pressed is not None:
                with suppress(BadRequest):  # "message is not modified" and too-old messages
                    await with_retry(
                        lambda r=reply: bot.edit_message_text(  # type: ignore[misc]
                            r.text, chat_id=chat.id, message_id=pressed.message_id, api_kwargs=keyboard(r)
                        ),
                        "edit",
                    )
                continue
            if reply.file is not None:
                await _send_file(context, chat.id, reply)
            elif reply.text:
                await with_retry(
                    lambda r=reply: bot.send_message(chat.id, r.text, api_kwargs=keyboard(r)),  # type: ignore[misc]
                )
    except Forbidden:
        log.info("chat %s blocked the bot; marking inactive", chat.id)
        await dialog_of(context).mark_blocked("telegram", str(chat.id))
    for reply in replies:
        if reply.to is not None:
            await notify(context, reply)


async def notify(context: ContextTypes.DEFAULT_TYPE, reply: Reply) -> None:
    """Send a notification to the account it is addressed to, if that account is on Telegram
    (others are sent by their own channel). A failure is logged and does not stop the rest."""
    assert reply.to is not None
    channel, external_id = reply.to
    wecom = context.application.bot_data.get("wecom")
    if channel == "wecom" and wecom is not None:  # both channels in one process
        await wecom.sender.send(channel, external_id, reply.text, reply.buttons)
        return
    if channel != "telegram" or not external_id.lstrip("-").isdigit():
        log.info("notification for %s:%s has no channel running here", channel, external_id)
        return
    chat_id = int(external_id)
    try:
        await with_retry(
            lambda: context.bot.send_message(chat_id, reply.text, api_kwargs=keyboard(reply)), "notify"
        )
    except Forbidden:
        log.info("chat %s blocked the bot; marking inactive", chat_id)
        await dialog_of(context).mark_blocked("telegram", external_id)
    except TelegramError as exc:
        log.warning("notification to chat %s failed: %s", chat_id, exc)


async def _send_file(context: ContextTypes.DEFAULT_TYPE, chat_id: int, reply: Reply) -> None:
    assert reply.file is not None
    data = reply.file.read_bytes()
    if reply.photo:
        await with_retry(
            lambda: context.bot.send_photo(
                chat_id, data, caption=reply.text or None, api_kwargs=keyboard(reply)
            )
        )
    else:
        await with_retry(
            lambda: context.bot.send_document(
                chat_id,
                data,
                filename=reply.file.name,  # type: ignore[union-attr]
                caption=reply.text or None,
                api_kwargs=keyboard(reply),
            )
        )


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
