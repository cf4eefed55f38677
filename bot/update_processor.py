"""python-telegram-bot update processor: one person's updates in order, many people at once,
and one log line per handled update with its latency."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot import metrics
from bot.ordering import KeyedLocks

log = logging.getLogger("bot.updates")


def _key(update: object) -> tuple[str, int]:
    if isinstance(update, Update):
        if update.effective_user is not None:
            return ("user", update.effective_user.id)
        if update.effective_chat is not None:
            return ("chat", update.effective_chat.id)
    return ("update", id(update))


class PerUserUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self.locks = KeyedLocks()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _key(update)
        async with self.locks.hold(key):
            started = time.perf_counter()
            try:
                await coroutine
            finally:
                update_id = update.update_id if isinstance(update, Update) else "-"
                seconds = time.perf_counter() - started
                metrics.handled("telegram", seconds)
                log.info(
                    "update %s from %s:%s handled in %.1f ms",
                    update_id,
                    key[0],
                    key[1],
                    seconds * 1000,
                    extra={"update_id": update_id, "channel": "telegram", "ms": round(seconds * 1000, 1)},
                )

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass
