"""Sending through the one Bot: its rate limiter keeps Telegram's pace, waits out 429s, retries
what surely did not go through, and never repeats a send that may have arrived."""

from __future__ import annotations

import asyncio
import itertools

import httpx
import pytest
from telegram.error import BadRequest, NetworkError, TelegramError, TimedOut
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.dialog.types import Reply
from bot.handlers.flood import FloodLimiter, surely_not_sent
from bot.handlers.sender import TelegramSender
from tests.fakes.telegram_api import FakeTelegramAPI, FaultPlan
from tests.telegram_harness import TOKEN


def bot_for(api: FakeTelegramAPI, limiter: FloodLimiter, read_timeout: float = 5.0) -> ExtBot[int]:
    return ExtBot(
        TOKEN,
        base_url=api.base_url,
        base_file_url=api.base_file_url,
        request=HTTPXRequest(read_timeout=read_timeout),
        rate_limiter=limiter,
    )


def test_pace_overall_and_per_chat() -> None:
    now = [0.0]
    limiter = FloodLimiter(30, 1, clock=lambda: now[0])
    # Thirty-three requests ready at once: a burst of three, then one every 1/30 s.
    waits = [limiter.overall_slot() for _ in range(33)]
    assert waits[:3] == [0, 0, 0] and waits[3] == pytest.approx(1 / 30)
    assert waits[-1] == pytest.approx(1.0)
    assert all(b - a == pytest.approx(1 / 30) for a, b in itertools.pairwise(waits[3:]))
    # One chat: three at once, then one a second; other chats are not held up by its queue.
    now[0] = 100.0
    assert [round(limiter.chat_slot("one"), 3) for _ in range(5)] == [0, 0, 0, 1, 2]
    assert limiter.chat_slot("two") == 0 and limiter.overall_slot() == 0
    # A 429 holds everyone, chats or none.
    limiter.hold(2.5)
    assert limiter.overall_slot() == 2.5
    off = FloodLimiter(0)  # pacing off: a local test server
    assert [off.chat_slot("any") for _ in range(5)] == [0] * 5 and off.overall_slot() == 0


def test_which_failures_are_repeated() -> None:
    def caused(exc: NetworkError, cause: BaseException | None) -> NetworkError:
        exc.__cause__ = cause
        return exc

    request = httpx.Request("POST", "https://api.telegram.org/")
    assert surely_not_sent(NetworkError("Bad Gateway"))  # answered by the server
    assert surely_not_sent(caused(NetworkError("Bad Gateway (502)"), TelegramError("not JSON")))
    assert surely_not_sent(caused(NetworkError("httpx.ConnectError"), httpx.ConnectError("refused")))
    assert surely_not_sent(caused(TimedOut(), httpx.ConnectTimeout("connect", request=request)))
    assert surely_not_sent(caused(TimedOut("Pool timeout"), httpx.PoolTimeout("pool", request=request)))
    # Sent, perhaps carried out, the answer lost: a send is not repeated.
    assert not surely_not_sent(caused(TimedOut(), httpx.ReadTimeout("read", request=request)))
    assert not surely_not_sent(caused(TimedOut(), httpx.WriteTimeout("write", request=request)))
    assert not surely_not_sent(caused(NetworkError("x"), httpx.RemoteProtocolError("disconnected")))
    assert not surely_not_sent(caused(NetworkError("x"), httpx.ReadError("reset")))
    assert not surely_not_sent(caused(NetworkError("Unknown error in HTTP implementation"), OSError()))


async def test_429_waited_out_and_5xx_retried_each_message_once() -> None:
    async with FakeTelegramAPI(token=TOKEN) as api:
        api.set_faults(FaultPlan(rate=0.5, kinds=("429", "502", "500"), retry_after=0.05, seed=3))
        async with bot_for(api, FloodLimiter(backoff=0.01)) as bot:
            for n in range(20):
                await bot.send_message(1000 + n, f"提醒 {n}")
            with pytest.raises(BadRequest):  # the request's own fault: not repeated
                api.set_faults(None)
                await bot.send_message(1, "")
    assert [c.text for c in api.messages()] == [f"提醒 {n}" for n in range(20)]
    assert api.stats.faults["429"] and api.stats.faults["502"] and api.stats.faults["500"]
    assert (
        api.stats.duplicates == 0
        and api.stats.requests["sendMessage"] == 20 + sum(api.stats.faults.values()) + 1
    )


async def test_a_read_time_out_is_not_resent() -> None:
    """The message arrived but the answer came too late: sending it again would show it twice."""
    async with FakeTelegramAPI(token=TOKEN) as api:
        api.set_faults(FaultPlan(rate=1, kinds=("late",), late_by=0.6, methods={"sendMessage"}))
        async with bot_for(api, FloodLimiter(backoff=0.01), read_timeout=0.2) as bot:
            with pytest.raises(TimedOut):
                await bot.send_message(1, "已记录")
            outcome = await TelegramSender(bot).send("telegram", "2", Reply("提醒：太平乡尚未提交"))
            await asyncio.sleep(0.8)  # long after the late answers
    assert outcome == "sent"  # it may have arrived: a reminder counted as failed would be sent again
    assert api.texts(1) == ["已记录"] and api.texts(2) == ["提醒：太平乡尚未提交"]
    assert api.stats.requests["sendMessage"] == 2


async def test_a_blocked_chat_is_reported() -> None:
    blocked: list[str] = []

    async def on_blocked(chat: str) -> None:
        blocked.append(chat)

    async with FakeTelegramAPI(token=TOKEN) as api:
        api.block_user(5)
        async with bot_for(api, FloodLimiter()) as bot:
            sender = TelegramSender(bot, on_blocked)
            assert await sender.send("telegram", "5", Reply("请修改")) == "blocked"
            assert await sender.send("telegram", "not-a-chat", Reply("请修改")) == "failed"
            assert await sender.send("telegram", "6", Reply("请修改")) == "sent"
    assert blocked == ["5"] and api.texts(6) == ["请修改"]
