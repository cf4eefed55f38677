"""Run the real python-telegram-bot Application against the fake Bot API on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from telegram.ext import Application

from bot.config import Settings, load_settings
from bot.dialog.core import Dialog
from bot.main import build_application
from storage.db import SessionMaker
from tests.dialog_driver import make_dialog
from tests.fakes.telegram_api import BotCall, FakeTelegramAPI

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
INSPECTOR = 100


def settings_for(api: FakeTelegramAPI, data_dir: Path, **extra: Any) -> Settings:
    """The bot's settings against the fake. Its pacing is off: the simulated people answer the
    moment a question arrives, far faster than the one message a second Telegram allows a chat
    (the pace is tested in tests/test_telegram_sending.py and by the reminders' fan-out)."""
    return load_settings(
        _env_file=None,
        telegram_bot_token=TOKEN,
        telegram_api_base_url=api.base_url,
        telegram_file_base_url=api.base_file_url,
        data_dir=data_dir,
        **{"reminders_enabled": False, "telegram_messages_per_second": 0, **extra},
    )


@asynccontextmanager
async def running_bot(
    api: FakeTelegramAPI, sessions: SessionMaker, data_dir: Path
) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    """The bot's own Application, polling the fake with PTB's own networking."""
    dialog: Dialog = make_dialog(sessions, data_dir)
    app = build_application(settings_for(api, data_dir), dialog)
    async with app:
        assert app.post_init is not None
        await app.post_init(app)
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            yield app
        finally:
            if (menus := app.bot_data.get("menus")) is not None:
                await asyncio.wait_for(menus, 10)  # published before the database goes away
            await app.updater.stop()
            await app.stop()
            if (scheduler := app.bot_data.get("scheduler")) is not None:
                scheduler.shutdown(wait=False)


def is_prompt(call: BotCall) -> bool:
    """A new message that asks something: a question, the review card, or a picker."""
    body = call.body or ""
    return call.method == "sendMessage" and any(m in body for m in ("【", "请核对", "请选择"))


async def act(
    api: FakeTelegramAPI,
    push: Callable[[], Awaitable[int]],
    *,
    until: Callable[[BotCall], bool] = is_prompt,
    timeout: float = 10,  # noqa: ASYNC109
) -> BotCall:
    """Push one update and wait for the bot's answer to it."""
    mark = api.mark()
    await push()
    return await api.wait_for(until, timeout, since=mark)
