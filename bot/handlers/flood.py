"""Telegram's flood limits for everything the one Bot sends, and which failures are retried.

python-telegram-bot passes every request but ``getUpdates`` through the Bot's rate limiter.
This one takes the place of ``AIORateLimiter``, which neither keeps to the limit of one private
chat nor retries anything but a 429. Replies, notifications, documents and reminders share it:

- **Pacing.** Requests to chats go at most ``per_second`` a second overall and one a second to
  a chat, evenly spaced after a burst of ``BURST`` (Telegram: about 30 messages a second, no
  more than one a second in a chat over time, short bursts allowed). A request first waits its
  chat's turn, then takes the bot's next place: a busy chat holds up no other.
- **Retrying only what surely did not go through**: a 429 after its ``retry_after`` (every
  request waits, as the limit hit may be the whole bot's); a 5xx answered by the server; a
  connection that could not be made; a time-out waiting for a free connection of the pool.
  A read or write time-out, or a connection lost after the request went out, may have
  delivered the message, and a send is not idempotent: it is never repeated (a read, ``get…``,
  is). Server faults back off from ``backoff`` seconds, doubling, a bounded number of times.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any

import httpx
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import BaseRateLimiter

from bot import metrics

log = logging.getLogger(__name__)

BURST = 3  # requests that may go at once, overall and to one chat, before the spacing applies
FLOOD_WAITS = 10  # 429s waited out for one request before it fails
SERVER_RETRIES = 5  # repeats of one request after 5xx answers or connections not made
MAX_BACKOFF = 8.0


def surely_not_sent(exc: NetworkError) -> bool:
    """True when Telegram cannot have acted on the request: it was never sent, or the server
    answered it with an error (python-telegram-bot raises 5xx answers as a plain NetworkError,
    with no transport exception as its cause)."""
    cause = exc.__cause__
    if isinstance(exc, TimedOut):
        return isinstance(cause, httpx.ConnectTimeout | httpx.PoolTimeout)
    if isinstance(cause, httpx.ConnectError):
        return True
    return cause is None or isinstance(cause, TelegramError)


class FloodLimiter(BaseRateLimiter[int]):
    def __init__(
        self,
        per_second: float = 30.0,
        per_chat: float = 1.0,
        *,
        backoff: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """``per_second`` 0: no pacing at all (a local test server); the retries stay."""
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.chat_interval = 1.0 / per_chat if per_second > 0 and per_chat > 0 else 0.0
        self.backoff, self.clock, self.sleep = backoff, clock, sleep
        # Virtual scheduling: the time each limit would be fully used again if sends went on
        # at its pace; a request may go BURST - 1 intervals before that.
        self._overall = 0.0
        self._chats: dict[object, float] = {}
        self._hold = 0.0  # nobody sends before this (a 429's retry_after)
        self._count = 0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    def chat_slot(self, chat: object) -> float:
        """Reserve the chat's next place; seconds from now until it comes."""
        if not self.chat_interval:
            return 0.0
        now = self.clock()
        due = self._chats.get(chat, 0.0)
        at = max(now, due - (BURST - 1) * self.chat_interval)
        self._chats[chat] = max(due, at) + self.chat_interval
        self._count += 1
        if self._count % 1024 == 0:  # chats with nothing pending take no memory
            self._chats = {c: due for c, due in self._chats.items() if due > now}
        return at - now

    def overall_slot(self) -> float:
        """Reserve the next place of the whole bot, once the request is ready to go (so that a
        chat waiting its turn holds up no other); seconds from now until it comes."""
        now = self.clock()
        at = max(now, self._hold)
        if self.interval:
            at = max(at, self._overall - (BURST - 1) * self.interval)
            self._overall = max(self._overall, at) + self.interval
        return at - now

    def hold(self, seconds: float) -> None:
        self._hold = max(self._hold, self.clock() + seconds)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat = data.get("chat_id")
        floods = faults = 0
        if chat is not None and (wait := self.chat_slot(chat)) > 0:  # a retry keeps this place
            await self.sleep(wait)
        while True:
            if chat is not None and (wait := self.overall_slot()) > 0:
                await self.sleep(wait)
            while (held := self._hold - self.clock()) > 0:  # a 429's wait, for every request
                await self.sleep(held)
            try:
                result = await callback(*args, **kwargs)
            except RetryAfter as exc:
                metrics.RATE_LIMITED.labels("telegram").inc()
                floods += 1
                if floods > FLOOD_WAITS:
                    _count(endpoint, "failed")
                    raise
                delay = _seconds(exc.retry_after)
                log.warning("%s: flood control, waiting %.1f s", endpoint, delay)
                self.hold(delay)
            except BadRequest:  # a NetworkError in python-telegram-bot, but the request's own fault
                _count(endpoint, "failed")
                raise
            except NetworkError as exc:
                faults += 1
                repeatable = endpoint.startswith("get") or surely_not_sent(exc)
                if not repeatable or faults > SERVER_RETRIES:
                    _count(endpoint, "failed")
                    raise
                delay = min(self.backoff * 2 ** (faults - 1), MAX_BACKOFF)
                log.warning("%s: %s; retry %d in %.2f s", endpoint, exc, faults, delay)
                await self.sleep(delay)
            except TelegramError:  # blocked, and the like
                _count(endpoint, "failed")
                raise
            else:
                _count(endpoint, "sent")
                return result


def _count(endpoint: str, outcome: str) -> None:
    if endpoint.startswith(("send", "edit")) and endpoint != "sendChatAction":
        metrics.REPLIES.labels("telegram", outcome).inc()


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
