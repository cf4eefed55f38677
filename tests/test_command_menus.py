"""The command menu each person sees in Telegram: the commands of their role, set for their
chat; the default (anyone else's) only how to start; a person who just joined gets theirs."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from storage.db import SessionMaker, transaction
from storage.queries.invites import create_invite
from tests.dialog_driver import seed
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram_harness import INSPECTOR, TOKEN, act, running_bot

SUPERVISOR, NEWCOMER = 300, 555


async def until(condition: Any, timeout: float = 5.0) -> None:  # noqa: ASYNC109
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "not in time"
        await asyncio.sleep(0.05)


def menu(api: FakeTelegramAPI, chat: int | None, language: str = "") -> list[str]:
    scope = {"type": "default"} if chat is None else {"type": "chat", "chat_id": chat}
    return [c["command"] for c in api.commands.get((json.dumps(scope, sort_keys=True), language), [])]


async def test_each_role_sees_its_commands(sessions: SessionMaker, tmp_path: Path) -> None:
    world: dict[str, Any] = await seed(sessions, channel="telegram")
    async with transaction(sessions) as s:
        code, _ = await create_invite(s, "inspector", township_ids=[world["taiping"]])
    async with FakeTelegramAPI(token=TOKEN) as api, running_bot(api, sessions, tmp_path):
        await until(lambda: bool(menu(api, SUPERVISOR)))
        assert menu(api, None) == ["start", "help"] == menu(api, None, "en")
        descriptions = {c["command"]: c["description"] for c in api.commands[next(iter(api.commands))]}
        assert descriptions["start"] == "开始使用"
        inspector, supervisor = menu(api, INSPECTOR), menu(api, SUPERVISOR)
        assert "inspect" in inspector and "summary" not in inspector and "invite" not in inspector
        assert {"summary", "report", "return", "history"} <= set(supervisor) and "inspect" not in supervisor
        assert menu(api, NEWCOMER) == []  # a stranger: the default menu
        await act(
            api, lambda: api.send_text(NEWCOMER, f"/start {code}"), until=lambda c: c.chat_id == NEWCOMER
        )
        await until(lambda: "inspect" in menu(api, NEWCOMER))
