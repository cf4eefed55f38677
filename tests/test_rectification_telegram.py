"""Rectification end to end on Telegram: the real python-telegram-bot Application against the
fake Bot API. An inspection with problems is submitted → items open → the township contact
gets the notice, reports one done with a photo → the inspector sends it back with a reason →
the contact reports again → accepted; the other item goes overdue and escalates to the
supervisor once. The bot is restarted in the middle: nothing is lost or sent twice."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from bot.handlers.sender import TelegramSender
from bot.reminders.rules import ReminderRules
from bot.reminders.service import ReminderService
from storage.db import SessionMaker, transaction
from storage.models import (
    ItemEvent,
    ItemStatus,
    OutgoingMessage,
    PhotoBlob,
    RectificationItem,
    Role,
    Township,
    table,
)
from storage.queries.registry import add_person
from tests.dialog_driver import seed
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram_harness import INSPECTOR, TOKEN, act, running_bot
from tests.test_telegram_e2e import answer_until, open_inspection

CONTACT = 600
SUPERVISOR = 300
TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def world(sessions: SessionMaker) -> dict[str, Any]:
    ids = await seed(sessions, channel="telegram")
    async with transaction(sessions) as s:
        taiping = await s.get(Township, ids["taiping"])
        contact = await add_person(
            s, "周档案员", Role.contact, identities=[("telegram", str(CONTACT))], contact_of=taiping
        )
        ids["contact"] = contact.id
    return ids


def has(text: str) -> Any:
    return lambda c: text in (c.body or "")


async def items(sessions: SessionMaker) -> dict[str, RectificationItem]:
    async with sessions() as s:
        return {i.finding: i for i in (await s.exec(select(RectificationItem))).all()}


def label_with(api: FakeTelegramAPI, chat: int, text: str) -> str:
    return next(label for row in api.last_keyboard(chat) for label, _ in row if text in label)


async def test_items_from_submit_to_accepted_and_escalated_across_a_restart(
    sessions: SessionMaker, world: dict[str, Any], tmp_path: Path
) -> None:
    async with FakeTelegramAPI(token=TOKEN) as api:
        async with running_bot(api, sessions, tmp_path) as _first:
            await open_inspection(api)
            await answer_until(api, sessions, world["inspector"], None)
            mark = api.mark()
            await api.press_text(INSPECTOR, "✔ 提交")
            notice = await api.wait_for(
                lambda c: c.chat_id == CONTACT and "【整改通知】" in (c.body or ""), since=mark
            )
            assert "八防措施不全" in (notice.body or "") and "档案整理滞后三年及以上" in (notice.body or "")
            await api.wait_for(
                lambda c: c.chat_id == INSPECTOR and "已将整改通知发给：周档案员" in (c.body or ""),
                since=mark,
            )
            found = await items(sessions)
            assert {k: v.status for k, v in found.items()} == {
                "missing_protections": ItemStatus.open,
                "filing_lagging": ItemStatus.open,
            }
            # The contact reports 八防 done, with a photo and a note.
            await act(api, lambda: api.press_text(CONTACT, "✔ 已整改 1"), until=has("报告整改：八防措施不全"))
            await act(api, lambda: api.send_photo(CONTACT, b"\xff\xd8fixed"), until=has("已收到第 1 张照片"))
            await act(api, lambda: api.send_text(CONTACT, "已配齐八防设施"), until=has("已记下说明"))
            mark = api.mark()
            await api.press_text(CONTACT, "✔ 提交（1 张）")
            await api.wait_for(
                lambda c: c.chat_id == CONTACT and "已提交，等待审核" in (c.body or ""), since=mark
            )
            await api.wait_for(
                lambda c: c.chat_id == INSPECTOR and "报告 太平乡 已整改" in (c.body or ""), since=mark
            )
            await api.wait_for(lambda c: c.chat_id == INSPECTOR and c.method == "sendPhoto", since=mark)
        # Restart: a new Application on the same database and the same Bot API.
        async with running_bot(api, sessions, tmp_path) as again:
            assert (await items(sessions))["missing_protections"].status == ItemStatus.reported
            await act(api, lambda: api.press_text(INSPECTOR, "↩ 退回重改"), until=has("请写明退回原因"))
            mark = api.mark()
            await api.send_text(INSPECTOR, "缺少防光窗帘的照片")
            told = await api.wait_for(
                lambda c: c.chat_id == CONTACT and "退回原因" in (c.body or ""), since=mark
            )
            assert "缺少防光窗帘的照片" in (told.body or "")
            await act(api, lambda: api.press_text(CONTACT, "✔ 已整改 1"), until=has("报告整改：八防措施不全"))
            await act(
                api, lambda: api.send_photo(CONTACT, b"\xff\xd8curtain"), until=has("已收到第 1 张照片")
            )
            mark = api.mark()
            await api.press_text(CONTACT, "✔ 提交（1 张）")
            await api.wait_for(
                lambda c: c.chat_id == INSPECTOR and "报告 太平乡 已整改" in (c.body or ""), since=mark
            )
            mark = api.mark()
            await api.press_text(INSPECTOR, "✔ 通过验收")
            await api.wait_for(lambda c: c.chat_id == CONTACT and "验收通过" in (c.body or ""), since=mark)
            # The other item overdue: the supervisor is told once, across a restart of the reminders.
            lag = (await items(sessions))["filing_lagging"]
            async with transaction(sessions) as s:
                t = table(RectificationItem)
                await (await s.connection()).execute(
                    update(t).where(t.c.id == lag.id).values(due=date(lag.year, 11, 16))
                )
            sender = TelegramSender(again.bot)
            wed = datetime(lag.year, 11, 18, 9, 30, tzinfo=TZ)
            for _ in range(2):  # the second run stands for the bot started again the same morning
                service = ReminderService(sessions, sender, TZ, ReminderRules(), channels=("telegram",))
                await service.run_due(wed)
    escalated = [c for c in api.calls("sendMessage", SUPERVISOR) if "整改逾期上报" in (c.body or "")]
    assert len(escalated) == 1 and "档案整理滞后三年及以上" in (escalated[0].body or "")
    notices = [c for c in api.calls("sendMessage", CONTACT) if "【整改通知】" in (c.body or "")]
    assert len(notices) == 1  # sent once, never again
    final = await items(sessions)
    assert final["missing_protections"].status == ItemStatus.closed
    assert final["missing_protections"].closed_how == "accepted"
    assert final["filing_lagging"].status == ItemStatus.open
    async with sessions() as s:
        actions = [
            e.action
            for e in (
                await s.exec(
                    select(ItemEvent)
                    .where(ItemEvent.item_id == final["missing_protections"].id)
                    .order_by(ItemEvent.id)  # type: ignore[arg-type]
                )
            ).all()
        ]
    assert actions == ["opened", "reported", "sent_back", "reported", "accepted"]
    # The contact's pictures are kept where photo answers are: in the database, on no host's disk.
    async with sessions() as s:
        blobs = (await s.exec(select(PhotoBlob).where(col(PhotoBlob.unique_id).startswith("item")))).all()
    assert sorted(b.data for b in blobs) == [b"\xff\xd8curtain", b"\xff\xd8fixed"]
    async with sessions() as s:  # every notice kept by its turn was sent, and forgotten
        assert (await s.exec(select(OutgoingMessage))).all() == []
    assert not (tmp_path / "items").exists()
