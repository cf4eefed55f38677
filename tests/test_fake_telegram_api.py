"""The fake Bot API answers python-telegram-bot's own Bot as Telegram does, for what the bot uses
(the webhook is exercised by tests/test_telegram_e2e.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, BotCommand, BotCommandScopeChat, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.request import HTTPXRequest

from tests.fakes.telegram_api import FakeTelegramAPI, FaultPlan

TOKEN = "123456:TEST-token_abc"


@pytest.fixture
async def api() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI(token=TOKEN) as fake:
        yield fake


def bot_for(api: FakeTelegramAPI, token: str = TOKEN, read_timeout: float = 5.0) -> Bot:
    request = HTTPXRequest(read_timeout=read_timeout)
    return Bot(token, base_url=api.base_url, base_file_url=api.base_file_url, request=request)


async def test_commands_limits_and_errors(api: FakeTelegramAPI) -> None:
    async with bot_for(api) as bot:  # initialize() calls getMe
        assert bot.username == "archive_test_bot" and bot.id == 123456
        await bot.set_my_commands([BotCommand("start", "开始")])
        await bot.set_my_commands([BotCommand("start", "Start")], language_code="en")
        await bot.set_my_commands([BotCommand("report", "报告")], scope=BotCommandScopeChat(7))
        assert [c.command for c in await bot.get_my_commands(scope=BotCommandScopeChat(7))] == ["report"]
        assert [c.description for c in await bot.get_my_commands(language_code="en")] == ["Start"]
        assert len(api.commands) == 3
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(1, "档" * 4097)
        await bot.send_message(1, "档" * 4096)
        with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
            await bot.send_document(1, b"x", filename="a.txt", caption="档" * 1025)
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x" * 65)]])
            await bot.send_message(1, "kb", reply_markup=markup)
        sent = await bot.send_message(1, "同一条")
        with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
            await bot.edit_message_text("同一条", chat_id=1, message_id=sent.message_id)
        api.block_user(2)
        with pytest.raises(Forbidden, match="blocked"):
            await bot.send_message(2, "hi")
        api.enforce_limits(per_chat_per_second=1, per_chat_burst=1)
        await bot.send_message(3, "a")
        with pytest.raises(RetryAfter):
            await bot.send_message(3, "b")
    assert api.stats.rate_limited == 1 and api.texts(3) == ["a"]
    with pytest.raises(InvalidToken):
        async with bot_for(api, "999:WRONG"):
            pass


async def test_long_poll_offset_and_redelivery(api: FakeTelegramAPI) -> None:
    async with bot_for(api) as bot:
        started = time.monotonic()
        later = asyncio.get_running_loop().call_later(
            0.2, lambda: asyncio.ensure_future(api.send_text(1, "/start x"))
        )
        updates = await bot.get_updates(timeout=5)
        later.cancel()
        assert 0.15 < time.monotonic() - started < 2  # held until the update came
        first = updates[0]
        assert first.message is not None and first.message.text == "/start x"
        assert first.message.entities[0].type == "bot_command"
        assert [u.update_id for u in await bot.get_updates(timeout=0)] == [first.update_id]  # not confirmed
        assert await bot.get_updates(offset=first.update_id + 1, timeout=0) == ()
        await api.push_duplicate(first.update_id)  # as after a crash before the confirmation
        assert [u.update_id for u in await bot.get_updates(timeout=0)] == [first.update_id]


async def test_faults(api: FakeTelegramAPI) -> None:
    async with bot_for(api, read_timeout=0.3) as bot:
        api.set_faults(FaultPlan(rate=1, kinds=("429",), retry_after=2))
        with pytest.raises(RetryAfter, match="2"):
            await bot.send_message(1, "a")
        api.set_faults(FaultPlan(rate=1, kinds=("502",)))
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(1, "b")
        api.set_faults(FaultPlan(rate=1, kinds=("drop",)))
        with pytest.raises(NetworkError):
            await bot.send_message(1, "c")
        assert api.texts(1) == []  # none of those reached the chat
        api.set_faults(FaultPlan(rate=1, kinds=("late",), late_by=1))
        with pytest.raises(TimedOut):
            await bot.send_message(1, "d")
        assert api.texts(1) == ["d"]  # this one did
    assert api.stats.faults == {"429": 1, "502": 1, "drop": 1, "late": 1}


async def test_photos_in_and_files_out(api: FakeTelegramAPI) -> None:
    photo = bytes(range(256)) * 40
    async with bot_for(api) as bot:
        await api.send_photo(5, photo, caption="档案室")
        [update] = await bot.get_updates(timeout=0)
        assert update.message is not None and update.message.caption == "档案室"
        largest = await bot.get_file(update.message.photo[-1].file_id)
        assert bytes(await largest.download_as_bytearray()) == photo
        await bot.send_document(5, b"PK\x03\x04", filename="汇报.docx", caption="汇报")
        await bot.send_photo(5, b"\x89PNG", caption="图")
    document, picture = api.messages(5)
    assert document.upload is not None and document.upload.filename == "汇报.docx"
    assert document.upload.data == b"PK\x03\x04" and document.caption == "汇报"
    assert picture.method == "sendPhoto" and picture.upload is not None and picture.upload.data == b"\x89PNG"
