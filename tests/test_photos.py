"""Photos: one taken away without the others, something that is not a picture refused, a
picture sent as a file taken, and a supervisor shown an inspection's photos from its card."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.dialog import Input, Who
from bot.dialog.photos import PhotoStore
from storage.db import SessionMaker
from tests.dialog_driver import Chat, make_dialog, seed, stored_answers
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram_harness import INSPECTOR, TOKEN, act, running_bot
from tests.test_answers_as_said import on
from tests.test_telegram_e2e import _year, answer_until, open_inspection


@pytest.fixture
async def world(sessions: SessionMaker, tmp_path: Path) -> dict[str, Any]:
    ids = await seed(sessions)
    dialog = make_dialog(sessions, tmp_path)
    return {**ids, "dialog": dialog, "sessions": sessions, "year": dialog.now_year()}


async def test_one_photo_removed_the_others_kept(world: dict[str, Any]) -> None:
    c = await on(world, "photos")
    for n in (1, 2, 3):
        await c.photo(f"jpeg-{n}".encode(), f"p{n}")
    assert "跳过 ▶" not in c.labels()  # with photos sent, skipping would drop them
    await c.press("删第 2 张")
    assert "已删除第 2 张" in c.text
    kept = (await stored_answers(world["sessions"], world["taiping"], world["year"]))["photos"]
    assert [p["unique_id"] for p in kept] == ["p1", "p3"]
    await c.press("完成")
    assert "已保存 2 张照片" in c.text


async def test_what_is_not_a_picture_is_refused_at_the_photo_question(world: dict[str, Any]) -> None:
    c = await on(world, "photos")
    await c.send(Input("unsupported"))
    assert "不是图片" in c.text and "photos" not in await stored_answers(
        world["sessions"], world["taiping"], world["year"]
    )


async def test_a_supervisor_sees_the_photos_and_an_outsider_does_not(world: dict[str, Any]) -> None:
    c = await on(world, "photos")
    await c.photo(b"\xff\xd8one", "p1")
    await c.photo(b"\xff\xd8two", "p2")
    supervisor = Chat(world["dialog"], Who("test", "300", "赵主任"))
    await supervisor.say("/status 太平乡")
    assert "查看照片（2 张）" in " ".join(supervisor.labels())
    await supervisor.press("查看照片")
    files = [r.file for r in supervisor.replies if r.file is not None]
    assert [f.read_bytes() for f in files] == [b"\xff\xd8one", b"\xff\xd8two"]
    assert all(r.photo for r in supervisor.replies if r.file)
    outsider = Chat(world["dialog"], Who("test", "200", "王督查"))  # 新华乡's inspector
    button = next(b for b in supervisor.buttons if "查看照片" in b.label)
    await outsider.send(Input("button", data=button.data))
    assert "权限" in outsider.notice and not any(r.file for r in outsider.replies)


async def test_a_picture_sent_as_a_file_is_a_photo_and_a_pdf_is_not(
    sessions: SessionMaker, tmp_path: Path
) -> None:
    ids = await seed(sessions, channel="telegram")
    async with FakeTelegramAPI(token=TOKEN) as api, running_bot(api, sessions, tmp_path):
        await open_inspection(api)
        await answer_until(api, sessions, ids["inspector"], "photos")
        call = await act(
            api, lambda: api.send_document(INSPECTOR, b"%PDF-1.4", "report.pdf", "application/pdf")
        )
        assert "不是图片" in " ".join(api.texts(INSPECTOR)[-2:])
        await act(api, lambda: api.send_document(INSPECTOR, b"\xff\xd8file", "room.jpg", "image/jpeg"))
        assert "已收到第 1 张照片" in (api.last_message(INSPECTOR).body or "")  # type: ignore[union-attr]
        assert call is not None
    photos = (await stored_answers(sessions, ids["taiping"], _year()))["photos"]
    async with sessions() as s:
        assert len(photos) == 1 and await PhotoStore().read(s, photos[0]) == b"\xff\xd8file"
