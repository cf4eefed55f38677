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


MAX_TEXT = 4096  # Telegram's limit for a message's text
MAX_CAPTION = 1024  # and for a file's caption


def _units(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: an emoji may count two)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """The text in pieces within ``limit``, cut between lines where it can be (a list that
    grew long — a group's townships, the review card — is sent in several messages)."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while _units(line) > limit:  # one line longer than a message: cut it
            cut = limit
            while _units(line[:cut]) > limit:
                cut -= 1
            head, line = line[:cut], line[cut:]
            if current:
                pieces.append(current)
                current = ""
            pieces.append(head)
        candidate = f"{current}\n{line}" if current else line
        if current and _units(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current.strip() or not pieces:
        pieces.append(current)
    return [p for p in pieces if p.strip()] or [text[:1]]


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
        pieces = split_text(reply.text)
        for n, piece in enumerate(pieces, 1):  # the buttons go with the last piece
            await bot.send_message(chat_id, piece, api_kwargs=markup if n == len(pieces) else None)
        return
    data = reply.file.read_bytes()
    caption = reply.text or None
    rest: list[str] = []
    if caption is not None and _units(caption) > MAX_CAPTION:  # the caption's rest follows as text
        caption, *rest = split_text(caption, MAX_CAPTION)
    if reply.photo:
        await bot.send_photo(chat_id, data, caption=caption, api_kwargs=None if rest else markup)
    else:
        await bot.send_document(
            chat_id, data, filename=reply.file.name, caption=caption, api_kwargs=None if rest else markup
        )
    if rest:
        await send_reply(bot, chat_id, Reply("\n".join(rest), reply.buttons))


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
