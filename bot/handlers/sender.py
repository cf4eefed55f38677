"""Reminders out through Telegram: one message, retried on flood control and network faults."""

from __future__ import annotations

import logging

from telegram import Bot
from telegram.error import Forbidden, TelegramError

from bot.dialog.types import Button, Reply
from bot.handlers.common import keyboard, with_retry
from bot.reminders.fanout import Outcome

log = logging.getLogger(__name__)


class TelegramSender:
    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, channel: str, external_id: str, text: str, buttons: list[list[Button]]) -> Outcome:
        if channel != "telegram":
            return "failed"
        markup = keyboard(Reply(text, buttons))
        try:
            await with_retry(
                lambda: self.bot.send_message(int(external_id), text, api_kwargs=markup), "remind"
            )
        except Forbidden:
            return "blocked"
        except TelegramError as exc:
            log.warning("reminder to %s failed: %s", external_id, exc)
            return "failed"
        return "sent"
