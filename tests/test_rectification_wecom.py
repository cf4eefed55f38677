"""The township contact's side of rectification on WeCom: the bot's callback server and send
client against the fake WeCom server. The inspector submits on WeCom; the contact gets the
整改通知 card, reports an item done with a picture and a note, is told why it was sent back,
reports again and is told it was accepted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from storage.db import SessionMaker, transaction
from storage.models import ItemStatus, RectificationItem, Role, Township
from storage.queries.registry import add_person
from tests.dialog_driver import seed
from tests.fakes.wecom_api import FakeWeCom, Sent
from tests.test_wecom_e2e import INSPECTOR, act, answer_until, open_inspection, running_wecom

CONTACT = "zhou.archivist"


@pytest.fixture
async def world(sessions: SessionMaker) -> dict[str, Any]:
    ids = await seed(sessions, channel="wecom")
    async with transaction(sessions) as s:
        taiping = await s.get(Township, ids["taiping"])
        await add_person(s, "周档案员", Role.contact, identities=[("wecom", CONTACT)], contact_of=taiping)
    return ids


def to(user: str, words: str) -> Any:
    return lambda m: m.touser == user and words in m.text


async def status_of(sessions: SessionMaker, finding: str) -> str:
    async with sessions() as s:
        item = (await s.exec(select(RectificationItem).where(RectificationItem.finding == finding))).one()
        return item.status


async def test_contact_on_wecom_reports_is_sent_back_and_accepted(
    sessions: SessionMaker, world: dict[str, Any], tmp_path: Path
) -> None:
    async with FakeWeCom() as api, running_wecom(api, sessions, tmp_path) as channel:
        await open_inspection(api)
        await answer_until(api, sessions, world["inspector"], None)
        await act(api, lambda: api.press_label(INSPECTOR, "✔ 提交"), until=lambda m: "已提交" in m.text)
        notice: Sent = await api.wait_for(to(CONTACT, "【整改通知】太平乡"))
        assert "八防措施不全" in " ".join(api.texts(CONTACT)) and "档案整理滞后" in " ".join(
            api.texts(CONTACT)
        )
        await act(api, lambda: api.press_label(CONTACT, "✔ 已整改 1"), until=to(CONTACT, "报告整改"))
        await act(api, lambda: api.send_image(CONTACT, b"\xff\xd8wecom-fix"), until=to(CONTACT, "第 1 张"))
        await act(api, lambda: api.send_text(CONTACT, "八防设施已配齐"), until=to(CONTACT, "已记下说明"))
        # The pressed card is greyed with the answer; the inspector gets the report and the picture.
        await act(api, lambda: api.press_label(CONTACT, "提交"), until=to(INSPECTOR, "报告 太平乡 已整改"))
        await api.wait_for(lambda m: m.touser == INSPECTOR and m.msgtype == "image")
        await channel.drain()
        assert any("等待审核" in (m.greyed or "") or "等待审核" in m.text for m in api.messages(CONTACT))
        assert await status_of(sessions, "missing_protections") == ItemStatus.reported
        await act(api, lambda: api.press_label(INSPECTOR, "退回重改"), until=to(INSPECTOR, "退回原因"))
        await act(api, lambda: api.send_text(INSPECTOR, "照片太暗"), until=to(INSPECTOR, "已退回"))
        await api.wait_for(to(CONTACT, "退回原因：照片太暗"))
        await act(api, lambda: api.press_label(CONTACT, "✔ 已整改 1"), until=to(CONTACT, "报告整改"))
        await act(api, lambda: api.send_image(CONTACT, b"\xff\xd8brighter"), until=to(CONTACT, "第 1 张"))
        mark = api.mark()
        await act(api, lambda: api.press_label(CONTACT, "提交"), until=to(INSPECTOR, "报告 太平乡 已整改"))
        await api.wait_for(to(INSPECTOR, "报告 太平乡 已整改"), since=mark)
        await act(api, lambda: api.press_label(INSPECTOR, "通过验收"), until=to(CONTACT, "验收通过"))
        await channel.drain()
        assert notice is not None
    assert await status_of(sessions, "missing_protections") == ItemStatus.closed
    assert await status_of(sessions, "filing_lagging") == ItemStatus.open
