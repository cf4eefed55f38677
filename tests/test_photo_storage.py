"""Where photos go: into the database by default, or a shared directory the settings name;
never a host's path in an answer; a picture over the size limit refused with the reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import func, select

from bot.dialog import Who
from bot.dialog.core import Dialog
from bot.dialog.photos import PhotoStore
from storage.db import SessionMaker
from storage.models import PhotoBlob
from tests.dialog_driver import Chat, seed, stored_answers
from tests.test_answers_as_said import on


def world_with(
    sessions: SessionMaker, tmp_path: Path, ids: dict[str, Any], store: PhotoStore
) -> dict[str, Any]:
    from zoneinfo import ZoneInfo

    dialog = Dialog(sessions, data_dir=tmp_path / "data", tz=ZoneInfo("Asia/Shanghai"), photos=store)
    return {**ids, "dialog": dialog, "sessions": sessions, "year": dialog.now_year()}


async def shown_photos(world: dict[str, Any]) -> list[bytes]:
    supervisor = Chat(world["dialog"], Who("test", "300", "赵主任"))
    await supervisor.say("/status 太平乡")
    await supervisor.press("查看照片")
    return [r.file.read_bytes() for r in supervisor.replies if r.file is not None]


@pytest.mark.parametrize("where", ["database", "directory"])
async def test_photos_kept_where_the_settings_say_and_no_host_path(
    sessions: SessionMaker, tmp_path: Path, where: str
) -> None:
    ids = await seed(sessions)
    shared = tmp_path / "shared"
    store = PhotoStore(shared if where == "directory" else None)
    world = world_with(sessions, tmp_path, ids, store)
    c = await on(world, "photos")
    await c.photo(b"\xff\xd8one", "p1")
    await c.photo(b"\xff\xd8two", "p2")
    await c.photo(b"\xff\xd8one", "p1")  # the same picture again: kept once
    answers = await stored_answers(sessions, ids["taiping"], world["year"])
    assert [p["unique_id"] for p in answers["photos"]] == ["p1", "p2"]
    stored = json.dumps(answers["photos"])
    assert str(tmp_path) not in stored and "path" not in stored  # nothing names a host's disk
    async with sessions() as s:
        blobs = (await s.exec(select(func.count()).select_from(PhotoBlob))).one()
    if where == "database":
        assert blobs == 2 and not shared.exists()
    else:
        assert blobs == 0 and sorted(p.read_bytes() for p in shared.rglob("*.jpg")) == [
            b"\xff\xd8one",
            b"\xff\xd8two",
        ]
    assert await shown_photos(world) == [b"\xff\xd8one", b"\xff\xd8two"]  # read back by another turn


async def test_a_photo_over_the_limit_is_refused_with_the_reason(
    sessions: SessionMaker, tmp_path: Path
) -> None:
    ids = await seed(sessions)
    world = world_with(sessions, tmp_path, ids, PhotoStore(max_bytes=1024 * 1024))
    c = await on(world, "photos")
    await c.photo(b"\xff\xd8" + b"x" * (3 * 1024 * 1024), "big")
    assert "3.0 MB" in c.text and "1 MB" in c.text and "没有保存" in c.text
    assert "photos" not in await stored_answers(sessions, ids["taiping"], world["year"])
    await c.photo(b"\xff\xd8small", "small")
    assert "已收到第 1 张照片" in c.text


async def test_an_earlier_releases_path_is_read_when_it_is_here(
    sessions: SessionMaker, tmp_path: Path
) -> None:
    old = tmp_path / "old.jpg"
    old.write_bytes(b"\xff\xd8old")
    store = PhotoStore()
    async with sessions() as s:
        assert await store.read(s, {"unique_id": "o", "path": str(old)}) == b"\xff\xd8old"
        assert await store.read(s, {"unique_id": "o", "path": str(tmp_path / "elsewhere.jpg")}) is None
        assert await PhotoStore(tmp_path).read(s, {"unique_id": "o", "dir": "../etc/passwd"}) is None
