"""Backups that restore: every row of a lived-in database written to one file, the database
wiped, the file read back — the same rows, on SQLite and PostgreSQL; and through the CLI."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from bot.dialog import Who
from storage.backup import BackupError, backup, restore
from storage.db import SessionMaker, transaction
from storage.models import Area, Inspection
from storage.queries.inbox import store_message
from storage.queries.photos import put_photo
from storage.queries.registry import get_or_create_area
from tests.dialog_driver import Chat, make_dialog, seed


async def every_row(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    async with engine.connect() as conn:
        out = {}
        for table in SQLModel.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.c)
            out[table.name] = [tuple(r) for r in (await conn.execute(select(table).order_by(*order))).all()]
        return out


async def lived_in(sessions: SessionMaker, tmp_path: Path) -> None:
    """People, townships, an inspection half answered with a photo, its history."""
    await seed(sessions)
    chat = Chat(make_dialog(sessions, tmp_path), Who("test", "100", "李督查"))
    await chat.say("/inspect")
    await chat.press("太平乡")
    await chat.press("本年度")
    for answer in ("是", "否", "有", "是", "否"):
        await chat.say(answer)
    async with transaction(sessions) as s:  # a picture kept in the database, a callback in the inbox
        inspection = (await s.exec(select(Inspection))).first()  # type: ignore[call-overload]
        await put_photo(s, inspection[0].id, "ph1", bytes(range(256)))
        await store_message(s, "wecom", "m1", "<xml><Content>档案</Content></xml>")


async def test_backup_wipe_restore_gives_the_same_rows(
    engine: AsyncEngine, sessions: SessionMaker, tmp_path: Path
) -> None:
    await lived_in(sessions, tmp_path)
    before = await every_row(engine)
    assert before["answer"] and before["answerchange"] and before["dialogstate"]
    assert before["photoblob"] and before["inboxmessage"]
    file = tmp_path / "backup.gz"
    seen: list[int] = []
    counts = await backup(engine, file, seen.append)
    assert sum(seen) == sum(counts.values()) == sum(len(rows) for rows in before.values())
    async with transaction(sessions) as s:  # the disaster: every row gone
        for table in reversed(SQLModel.metadata.sorted_tables):
            await s.exec(table.delete())  # type: ignore[call-overload]
    assert not any((await every_row(engine)).values())
    await restore(engine, file)
    assert await every_row(engine) == before
    # New rows after a restore take new ids (PostgreSQL's sequences were moved on).
    async with transaction(sessions) as s:
        area = await get_or_create_area(s, "新县")
    assert area.id is not None and area.id > max(r[0] for r in before["area"])


async def test_a_restore_is_all_or_nothing(
    engine: AsyncEngine, sessions: SessionMaker, tmp_path: Path
) -> None:
    await lived_in(sessions, tmp_path)
    before = await every_row(engine)
    file = tmp_path / "backup.gz"
    await backup(engine, file)
    damaged = tmp_path / "damaged.gz"
    lines = gzip.open(file, "rt", encoding="utf-8").read().splitlines()
    lines.insert(len(lines) - 1, json.dumps(["not", "a", "row"]))
    with gzip.open(damaged, "wt", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    with pytest.raises(BackupError):
        await restore(engine, damaged)
    assert await every_row(engine) == before  # rolled back: nothing lost


async def test_a_backup_of_another_schema_revision_is_refused(
    engine: AsyncEngine, sessions: SessionMaker, tmp_path: Path
) -> None:
    async with transaction(sessions) as s:
        s.add(Area(name="某市", kind="city"))
    file = tmp_path / "backup.gz"
    await backup(engine, file)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    with pytest.raises(BackupError, match="revision"):
        await restore(engine, file)
    not_a_backup = tmp_path / "x.gz"
    not_a_backup.write_bytes(b"hello")
    with pytest.raises(BackupError):
        await restore(engine, not_a_backup)
