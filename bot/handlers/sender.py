"""A reply as a new Telegram message, and the outbox's sender for Telegram.

The Bot's rate limiter (``bot.handlers.flood``) paces and retries every request; what reaches
here has failed for good, or timed out and may have arrived."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Bot
from telegram.error import Forbidden, TelegramError, TimedOut

from bot.dialog.types import Reply
from bot.outbox import Outcome

log = logging.getLogger(__name__)


def keyboard(reply: Reply) -> dict[str, Any] | None:
    """The reply's buttons as the Bot API's ``reply_markup``, for ``api_kwargs``. Plain JSON, not
    PTB's ``InlineKeyboardMarkup``: building those objects only for PTB to turn them back into
    JSON cost about a tenth of a millisecond a message (bench/dialog_throughput.py)."""
    if not reply.buttons:
        return None
    rows = [[{"text": b.label, "callback_data": b.data} for b in row] for row in reply.buttons]
    return {"reply_markup": {"inline_keyboard": rows}}


async def send_reply(bot: Bot, chat_id: int, reply: Reply) -> None:
    """The reply as a new message: text, or its file as a photo or a document with the text as
    caption, and its buttons."""
    markup = keyboard(reply)
    if reply.file is None:
        await bot.send_message(chat_id, reply.text, api_kwargs=markup)
        return
    data = reply.file.read_bytes()
    caption = reply.text or None
    if reply.photo:
        await bot.send_photo(chat_id, data, caption=caption, api_kwargs=markup)
    else:
        await bot.send_document(chat_id, data, filename=reply.file.name, caption=caption, api_kwargs=markup)


class TelegramSender:
    """Notifications and reminders to a Telegram chat; the outcome, never an exception."""

    def __init__(self, bot: Bot, on_blocked: Callable[[str], Awaitable[None]] | None = None) -> None:
        self.bot, self.on_blocked = bot, on_blocked

    async def send(self, channel: str, external_id: str, reply: Reply) -> Outcome:
        if not external_id.lstrip("-").isdigit():
            log.warning("not a Telegram chat id: %r", external_id)
            return "failed"
        try:
            await send_reply(self.bot, int(external_id), reply)
        except Forbidden:
            log.info("chat %s blocked the bot; marking inactive", external_id)
            if self.on_blocked is not None:
                await self.on_blocked(external_id)
            return "blocked"
        except TimedOut as exc:
            # It may have arrived, and a reminder counted as failed would be sent again.
            log.warning("message to chat %s timed out (%s); not sent again", external_id, exc)
        except TelegramError as exc:
            log.warning("message to chat %s failed: %s", external_id, exc)
            return "failed"
        return "sent"
