"""Long polling that confirms an update to Telegram only once it was handled.

python-telegram-bot's Updater confirms what it fetched with its next ``getUpdates`` (the
``offset``), before the update was handled: a process killed in between loses it, as Telegram
never delivers a confirmed update again. Here the offset stays at the oldest update still
being handled, so a leader that dies leaves it to the next one (bot/leader.py), which handles
it once: the dialog knows the update ids it applied (an update applied before is answered with
the current prompt, whose message may have been lost with the crash).

While updates are being handled, Telegram answers each poll at once with them again: those are
skipped, and the next poll waits for one to finish (at most ``IDLE`` seconds, so that others'
new updates are not held up behind a slow one)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, TelegramError
from telegram.ext import Application

log = logging.getLogger(__name__)

IDLE = 0.5
RETRY = 1.0
DRAIN_SECONDS = 10.0


class ConfirmingPoller:
    def __init__(self, app: Application, *, timeout: int = 10) -> None:
        self.app, self.timeout = app, timeout
        self.handling: dict[int, asyncio.Task[None]] = {}
        self.newest: int | None = None  # the newest update id received
        self._finished = asyncio.Event()

    @property
    def offset(self) -> int | None:
        """What to confirm: everything before the oldest update being handled."""
        if self.handling:
            return min(self.handling)
        return None if self.newest is None else self.newest + 1

    def _start(self, update: Update) -> None:
        processor = self.app.update_processor
        task = asyncio.create_task(processor.process_update(update, self.app.process_update(update)))
        self.handling[update.update_id] = task

        def done(_: asyncio.Task[None], update_id: int = update.update_id) -> None:
            self.handling.pop(update_id, None)
            self._finished.set()

        task.add_done_callback(done)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set; then finish what is being handled and confirm it."""
        bot = self.app.bot
        await bot.delete_webhook()  # Telegram refuses getUpdates while a webhook is set
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                self._finished.clear()
                poll = asyncio.create_task(
                    bot.get_updates(
                        offset=self.offset, timeout=self.timeout, allowed_updates=Update.ALL_TYPES
                    )
                )
                await asyncio.wait({poll, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not poll.done():
                    poll.cancel()
                    with contextlib.suppress(asyncio.CancelledError, TelegramError):
                        await poll
                    break
                try:
                    updates = poll.result()
                except InvalidToken:
                    raise
                except (Conflict, NetworkError, TelegramError) as exc:
                    log.warning("getUpdates failed (%s); polling again in %.0f s", exc, RETRY)
                    await asyncio.sleep(RETRY)
                    continue
                fresh = [u for u in updates if self.newest is None or u.update_id > self.newest]
                for update in fresh:
                    self.newest = update.update_id
                    self._start(update)
                if not fresh and self.handling:  # only what is being handled came back
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(IDLE):
                            await self._finished.wait()
        finally:
            stopping.cancel()
            await self._drain()

    async def _drain(self) -> None:
        if self.handling:
            await asyncio.wait(set(self.handling.values()), timeout=DRAIN_SECONDS)
        if self.newest is not None and not self.handling:
            with contextlib.suppress(TelegramError):  # confirmed by the next start otherwise
                await self.app.bot.get_updates(offset=self.newest + 1, timeout=0, limit=1)
