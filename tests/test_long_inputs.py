"""Inputs as long as Telegram allows (4,096 characters) at every kind of prompt and command,
end to end through python-telegram-bot against a fake Bot API that refuses what Telegram
refuses (a message over 4,096 characters, a caption over 1,024): every reply is accepted,
nothing fails, and the current question is shown again."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from storage.db import SessionMaker, transaction
from storage.models import Role
from storage.queries.registry import add_person
from tests.dialog_driver import seed, state_of
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram_harness import INSPECTOR, TOKEN, act, running_bot
from tests.test_dialog import TYPED
from tests.test_telegram_e2e import open_inspection

LONG = "太" * 4096
SUPERVISOR, ADMIN = 300, 900
FAILED = "出错了"


@pytest.fixture
async def world(sessions: SessionMaker) -> dict[str, Any]:
    ids = await seed(sessions, channel="telegram")
    async with transaction(sessions) as s:
        admin = await add_person(s, "管理员", Role.admin, identities=[("telegram", str(ADMIN))])
    return {**ids, "admin": admin.id}


async def settled(api: FakeTelegramAPI, quiet: float = 0.25) -> None:
    """Until the bot has said nothing for ``quiet`` seconds (its reply to one update is done)."""
    while True:
        seen = len(api.log)
        await asyncio.sleep(quiet)
        if len(api.log) == seen:
            return


def answered(api: FakeTelegramAPI, since: int) -> list[str]:
    return [c.body or "" for c in api.calls(since=since) if c.body]


async def long_at(api: FakeTelegramAPI, chat: int, text: str = LONG) -> list[str]:
    """Send ``text``; what the bot says back (the last message a new prompt or a note)."""
    mark = api.mark()
    await api.send_text(chat, text)
    await api.wait_for(
        lambda c: c.chat_id == chat and c.method in ("sendMessage", "sendDocument"), since=mark
    )
    await settled(api)
    return answered(api, mark)


async def test_long_inputs_everywhere(sessions: SessionMaker, world: dict[str, Any], tmp_path: Path) -> None:
    async with FakeTelegramAPI(token=TOKEN) as api, running_bot(api, sessions, tmp_path):
        # A stranger, and an inspector at every screen of an inspection.
        assert "邀请" in " ".join(await long_at(api, 999))
        for text in (LONG, "/status " + LONG[:4088], "/inspect " + LONG[:4087], "/" + "x" * 4095):
            assert all(FAILED not in t for t in await long_at(api, INSPECTOR, text))
        await long_at(api, INSPECTOR, "/inspect")
        assert "请选择要检查的乡镇" in " ".join(await long_at(api, INSPECTOR))  # the picker again
        await act(
            api,
            lambda: api.press_text(INSPECTOR, "太平乡"),
            until=lambda c: "请选择检查年度" in (c.body or ""),
        )
        assert "请选择检查年度" in " ".join(await long_at(api, INSPECTOR))
        await act(
            api,
            lambda: api.send_text(INSPECTOR, "/cancel"),
            until=lambda c: "暂停" in (c.body or "") or "取消" in (c.body or ""),
        )
        await open_inspection(api)
        person = world["inspector"]
        seen: set[str] = set()
        while (state := await state_of(sessions, person)).get("step") == "question":
            key = state["question"]
            assert key not in seen, f"{key} asked twice"
            seen.add(key)
            said = await long_at(api, INSPECTOR)
            assert "【" in said[-1], (key, said[-1][:80])  # the question shown again
            assert (await state_of(sessions, person)).get("question") == key  # nothing stored
            if key == "photos":
                await act(api, lambda: api.press_text(INSPECTOR, "跳过 ▶"))
            else:
                await act(
                    api,
                    lambda k=key: api.send_text(INSPECTOR, TYPED[k][0]),
                    until=lambda c: c.method == "sendMessage",
                )  # type: ignore[misc]
                await settled(api)
        assert (await state_of(sessions, person)).get("step") == "review"
        assert "请核对" in " ".join(await long_at(api, INSPECTOR))  # the review card again
        for text in ("/history " + LONG[:4087], "/return " + LONG[:4088], "/help " + LONG[:4090]):
            assert all(FAILED not in t for t in await long_at(api, INSPECTOR, text))
        # A supervisor's commands, and a return with a comment far too long.
        for text in (
            LONG,
            "/status " + LONG[:4088],
            "/summary " + LONG[:4087],
            "/report " + LONG[:4088],
            "/history " + LONG[:4087],
            "/return 太平乡 " + LONG[:4080],
        ):
            assert all(FAILED not in t for t in await long_at(api, SUPERVISOR, text))
        # An administrator inviting, typing a township's name of 4,096 characters.
        await long_at(api, ADMIN, "/invite")
        await act(api, lambda: api.press_text(ADMIN, "督查员"), until=lambda c: c.chat_id == ADMIN)
        assert all(FAILED not in t for t in await long_at(api, ADMIN))
        assert all(FAILED not in t for t in await long_at(api, ADMIN, "/deadline " + LONG[:4086]))
    assert api.stats.refused == {}
    assert not any(FAILED in (c.body or "") for c in api.calls())
