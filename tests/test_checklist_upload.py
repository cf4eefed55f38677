"""An administrator sends a checklist workbook to the bot in the chat (Telegram, end to end
through python-telegram-bot): installed, and the next inspection uses it; a broken one is
refused naming sheet, row and column; from anyone else a file is not an input."""

from __future__ import annotations

from pathlib import Path

from bot.dialog import Document, Input, Who
from storage.db import SessionMaker, transaction
from storage.models import Role
from storage.queries.registry import add_person
from tests.dialog_driver import Chat, make_dialog, seed
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram_harness import INSPECTOR, TOKEN, act, running_bot
from tests.test_checklist_workbook import hand_written
from tests.test_telegram_e2e import open_inspection

ADMIN = 500


def to(user: int):  # type: ignore[no-untyped-def]
    return lambda call: call.method == "sendMessage" and call.chat_id == user


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def test_admin_sends_a_workbook_in_the_chat(sessions: SessionMaker, tmp_path: Path) -> None:
    await seed(sessions, channel="telegram")
    async with transaction(sessions) as s:
        await add_person(s, "钱局长", Role.admin, identities=[("telegram", str(ADMIN))])
    good = hand_written(tmp_path / "简易清单.xlsx").read_bytes()
    broken = hand_written(
        tmp_path / "坏.xlsx", survey=[["begin group", "g", "组"], ["calculate", "n", "合计"]]
    )
    async with FakeTelegramAPI(token=TOKEN) as api, running_bot(api, sessions, tmp_path):
        await act(api, lambda: api.send_document(INSPECTOR, good, "简易清单.xlsx", XLSX), until=to(INSPECTOR))
        assert "已安装" not in " ".join(api.texts(INSPECTOR))  # only an administrator installs
        await act(
            api, lambda: api.send_document(ADMIN, broken.read_bytes(), "坏.xlsx", XLSX), until=to(ADMIN)
        )
        said = api.texts(ADMIN)[-1]
        assert "没有安装「坏.xlsx」" in said and "工作表「survey」第 3 行「type」列" in said
        assert "/tmp" not in said
        await act(api, lambda: api.send_document(ADMIN, good, "简易清单.xlsx", XLSX), until=to(ADMIN))
        assert "已安装 township_archive v7" in api.texts(ADMIN)[-1]
        await open_inspection(api)
        assert "有没有专门的档案室" in " ".join(api.texts(INSPECTOR)[-2:])  # no restart


async def test_a_file_from_an_inspector_is_not_an_input(sessions: SessionMaker, tmp_path: Path) -> None:
    await seed(sessions)
    data = hand_written(tmp_path / "x.xlsx").read_bytes()

    async def fetch() -> bytes:
        return data

    c = Chat(make_dialog(sessions, tmp_path), Who("test", "100", "李督查"))
    await c.send(Input("document", document=Document("f1", "x.xlsx", len(data), fetch)))
    assert "已安装" not in c.text and "文字" in c.text
