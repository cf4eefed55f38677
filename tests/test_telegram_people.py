"""End to end on Telegram (the real PTB Application against the fake Bot API): an invitation
made in the chat, opened as a deep link by a newcomer; and the send-back loop, whose
notifications land in the other person's chat, through flood control."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from storage.db import SessionMaker, transaction
from storage.models import Area, Inspection, InspectionStatus, Role
from storage.queries.registry import add_person
from tests.dialog_driver import make_dialog, seed
from tests.fakes.telegram_api import BotCall, FakeTelegramAPI, FaultPlan
from tests.people_world import submitted
from tests.telegram_harness import INSPECTOR, TOKEN, act, running_bot
from tests.test_returns import ALL_ANSWERS

SUPERVISOR, ADMIN, NEWCOMER, LATECOMER = 300, 500, 777, 778


def says(fragment: str):  # type: ignore[no-untyped-def]
    return lambda c: fragment in (c.body or "")


@pytest.fixture
async def world(sessions: SessionMaker) -> dict[str, Any]:
    ids = await seed(sessions, channel="telegram")
    async with transaction(sessions) as s:
        await add_person(s, "钱局长", Role.admin, identities=[("telegram", str(ADMIN))])
        ids["city"] = (await s.exec(select(Area.id).where(Area.name == "示例市"))).one()
    return ids


async def test_invite_made_in_chat_opened_as_a_deep_link(
    sessions: SessionMaker, world: dict[str, Any], tmp_path: Path
) -> None:
    async with FakeTelegramAPI(token=TOKEN) as api, running_bot(api, sessions, tmp_path):
        api.user(NEWCOMER, "周新人")
        api.user(LATECOMER, "吴迟到")
        await act(api, lambda: api.send_text(ADMIN, "/invite"), until=says("要邀请什么角色"))
        await act(api, lambda: api.press_text(ADMIN, "督查员"), until=says("请选择督查员负责的乡镇"))
        await act(api, lambda: api.send_text(ADMIN, "太平"), until=says("请选择督查员负责的乡镇"))
        await act(api, lambda: api.press_text(ADMIN, "☐ 太平乡"), until=says("请选择督查员负责的乡镇"))
        made = await act(api, lambda: api.press_text(ADMIN, "✔ 完成（已选 1 个）"), until=says("已生成邀请"))
        # The bot learned its username from getMe: the link is a real deep link.
        link = re.search(r"https://t\.me/archive_test_bot\?start=([A-Za-z0-9_-]+)", made.body or "")
        assert link is not None
        code = link.group(1)
        # A stranger first: one polite line, nothing else.
        await act(api, lambda: api.send_text(NEWCOMER, "/inspect"), until=says("邀请"))
        # Opening t.me/<bot>?start=<code> makes the client send "/start <code>".
        await act(api, lambda: api.send_command(NEWCOMER, "/start", code), until=says("绑定成功"))
        await act(api, lambda: api.send_text(NEWCOMER, "/inspect"), until=says("太平乡：请选择检查年度"))
        await act(api, lambda: api.send_command(LATECOMER, "/start", code), until=says("已经被使用过"))
        await act(api, lambda: api.send_text(LATECOMER, "/inspect"), until=says("仅供受邀"))
        assert not any("太平乡" in t for t in api.texts(LATECOMER))


async def test_return_notify_fix_resubmit_notify(
    sessions: SessionMaker, world: dict[str, Any], tmp_path: Path
) -> None:
    year = make_dialog(sessions, tmp_path).now_year()
    await submitted(
        sessions,
        make_dialog(sessions, tmp_path),
        world["taiping"],
        year,
        world["inspector"],
        {**ALL_ANSWERS, "photos": None},
    )
    async with FakeTelegramAPI(token=TOKEN) as api, running_bot(api, sessions, tmp_path):
        await act(
            api, lambda: api.send_text(SUPERVISOR, "/return 太平乡 请补充经费凭证"), until=says("退回检查")
        )
        # Flood control on a share of the sends: every message still arrives, once.
        api.set_faults(FaultPlan(rate=0.5, kinds=("429", "502"), retry_after=0.05, seed=11))
        mark = api.mark()
        await api.press_text(SUPERVISOR, "✔ 确认退回")
        told: BotCall = await api.wait_for(
            lambda c: c.chat_id == INSPECTOR and "退回了您提交的" in (c.body or ""), since=mark
        )
        await api.wait_for(
            lambda c: c.chat_id == SUPERVISOR and "已通知：李督查" in (c.body or ""), since=mark
        )
        assert "请补充经费凭证" in (told.body or "")
        assert [label for row in api.last_keyboard(INSPECTOR) for label, _ in row] == ["✎ 去修改"]
        assert sum(api.stats.faults.values()) >= 1
        api.set_faults(None)
        await act(api, lambda: api.press_text(INSPECTOR, "✎ 去修改"), until=says("请核对"))
        mark = api.mark()
        await api.press_text(INSPECTOR, "✔ 提交")
        back = await api.wait_for(
            lambda c: c.chat_id == SUPERVISOR and "已修改并重新提交" in (c.body or ""), since=mark
        )
        assert "李督查" in (back.body or "")
        await api.wait_for(
            lambda c: c.chat_id == INSPECTOR and "已通知督查室：赵主任" in (c.body or ""), since=mark
        )
        await act(api, lambda: api.press_text(SUPERVISOR, "📜 查看修改记录"), until=says("修改记录"))
        # Nobody else was told anything.
        assert not api.messages(200) and not api.messages(NEWCOMER)
        assert api.stats.duplicates == 0
    async with sessions() as s:
        insp = (await s.exec(select(Inspection))).one()
    assert insp.status == InspectionStatus.submitted and insp.return_comment == "请补充经费凭证"
