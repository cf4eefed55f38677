"""The one turn path: access before work, few statements per answer, and a turn that raced
another writer writes nothing and runs again — on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import func, select

from bot.dialog import Input, Who
from storage.db import SessionMaker, transaction
from storage.models import AnswerChange, DialogState, Inspection, PhotoBlob, ProcessedUpdate
from storage.queries import inspections as q_insp
from tests.dialog_driver import Chat, make_dialog, seed, state_of, stored_answers
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.telegram_harness import INSPECTOR, TOKEN, act, running_bot
from tests.test_telegram_e2e import answer_until, open_inspection


@pytest.fixture
async def world(sessions: SessionMaker, tmp_path: Path) -> dict[str, Any]:
    ids = await seed(sessions)
    dialog = make_dialog(sessions, tmp_path)
    return {**ids, "dialog": dialog, "sessions": sessions, "year": dialog.now_year()}


def chat(world: dict[str, Any], external_id: str = "100") -> Chat:
    return Chat(world["dialog"], Who("test", external_id, "someone"))


async def opened(world: dict[str, Any]) -> Chat:
    c = chat(world)
    await c.say("/inspect")
    await c.press("太平乡")
    await c.press("本年度")
    return c


async def count(sessions: SessionMaker, model: Any) -> int:
    async with sessions() as s:
        return int((await s.exec(select(func.count()).select_from(model))).one())


# Access before work ---------------------------------------------------------------------------


async def test_a_strangers_photo_is_not_downloaded(sessions: SessionMaker, tmp_path: Path) -> None:
    await seed(sessions, channel="telegram")
    async with FakeTelegramAPI(token=TOKEN) as api, running_bot(api, sessions, tmp_path):
        for n in range(3):
            call = await act(
                api,
                lambda n=n: api.send_photo(999, b"\xff\xd8" + bytes([n])),
                until=lambda c: c.chat_id == 999,
            )
            assert "邀请" in (call.body or "")
        assert api.stats.requests["getFile"] == 0
        assert await count(sessions, ProcessedUpdate) == 0  # nothing stored for them either
        # The inspector's photo, where the checklist asks for one, is downloaded (once).
        await open_inspection(api)
        await answer_until(api, sessions, 1, "photos")
        await act(api, lambda: api.send_photo(INSPECTOR, b"\xff\xd8inspector"))
        assert api.stats.requests["getFile"] == 1
    async with sessions() as s:
        assert (await s.exec(select(PhotoBlob.data))).all() == [b"\xff\xd8inspector"]  # one kept


async def test_a_photo_where_text_is_asked_is_not_downloaded(world: dict[str, Any]) -> None:
    c = await opened(world)
    fetched = []

    async def fetch() -> bytes:
        fetched.append(1)
        return b"\xff\xd8"

    from bot.dialog import Photo

    await c.send(Input("photo", photo=Photo("f1", "u1", fetch)))
    assert "文字回答" in c.text and fetched == []


async def test_a_stranger_leaves_nothing_stored(world: dict[str, Any]) -> None:
    stranger = chat(world, "999")
    for text in ("/inspect", "太平乡" * 1000, "/start", "/start not-a-code"):
        await stranger.say(text)
        assert "邀请" in stranger.text
    assert await count(world["sessions"], ProcessedUpdate) == 2  # the two /start: they may bind
    assert await count(world["sessions"], DialogState) == 0


# Few statements, no read the turn does not need ----------------------------------------------


async def test_an_answer_is_a_handful_of_statements(world: dict[str, Any]) -> None:
    c = await opened(world)
    engine = world["sessions"].kw["bind"].sync_engine
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.split()[0].upper())

    event.listen(engine, "before_cursor_execute", seen)
    try:
        await c.say("是")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert "已记录" in c.text
    # Who and where (one read), the inspection with its answers (one read), then the answer,
    # its history row, the inspection's version, the update's claim and the state.
    assert statements.count("SELECT") <= 2, statements
    assert statements.count("INSERT") + statements.count("UPDATE") <= 5, statements


# Races ----------------------------------------------------------------------------------------


async def test_a_turn_that_raced_another_writer_runs_again(world: dict[str, Any], monkeypatch: Any) -> None:
    """Someone else answers the same inspection between this turn's read and its write: the
    turn writes nothing on that read and runs again on a fresh one; both answers stay."""
    c = await opened(world)
    sessions: SessionMaker = world["sessions"]
    real = q_insp.inspection_in_hand
    raced = []

    async def read_then_someone_writes(session: Any, person: Any, inspection_id: int) -> Any:
        found = await real(session, person, inspection_id)
        if not raced:
            raced.append(inspection_id)
            async with transaction(sessions) as other:
                await q_insp.set_answer(
                    other, inspection_id, "notes", "督查室补充", world["supervisor"], current=None
                )
        return found

    monkeypatch.setattr(q_insp, "inspection_in_hand", read_then_someone_writes)
    await c.say("是")
    assert raced and "已记录" in c.text
    stored = await stored_answers(sessions, world["taiping"], world["year"])
    assert stored == {"leader_named": True, "notes": "督查室补充"}
    assert await count(sessions, AnswerChange) == 2  # written once each
    async with sessions() as s:
        inspection = (await s.exec(select(Inspection))).one()
    assert inspection.version == 2


async def test_the_version_moves_with_every_change(world: dict[str, Any]) -> None:
    c = await opened(world)
    sessions: SessionMaker = world["sessions"]

    async def version() -> int:
        async with sessions() as s:
            return int((await s.exec(select(Inspection.version))).one())

    assert await version() == 0
    await c.say("是")
    await c.say("否")
    assert await version() == 2
    await c.press("◀ 上一题")  # nothing written
    assert await version() == 2


async def test_a_stale_dialog_state_runs_the_turn_again(world: dict[str, Any], monkeypatch: Any) -> None:
    """Another process moves the person's dialog state on after this turn read it: the turn's
    writes are rolled back, and it runs again from the state as it now is."""
    c = await opened(world)
    sessions: SessionMaker = world["sessions"]
    from storage.queries import dialog_state, turns

    real = turns.turn_start
    moved = []

    async def read_then_someone_writes(session: Any, channel: str, external_id: str, update_id: str) -> Any:
        start = await real(session, channel, external_id, update_id)
        if not moved and start is not None:
            moved.append(start.version)
            async with transaction(sessions) as other:  # the same state, one version on
                assert await dialog_state.save_state(other, start.person.id, start.state, start.version)
        return start

    monkeypatch.setattr("bot.dialog.core.turn_start", read_then_someone_writes)
    await c.say("是")
    assert moved and "已记录" in c.text
    assert await count(sessions, AnswerChange) == 1  # the first try's answer was rolled back
    assert (await state_of(sessions, world["inspector"]))["question"] == "target_management"


async def test_an_unreadable_state_starts_over_and_old_buttons_stay_stale(world: dict[str, Any]) -> None:
    c = await opened(world)
    sessions: SessionMaker = world["sessions"]
    from storage.queries import dialog_state

    async with transaction(sessions) as s:
        state, version = await dialog_state.load_state(s, world["inspector"])
        damaged = {**state, "pending": "not a list", "seq": state["seq"]}
        assert await dialog_state.save_state(s, world["inspector"], damaged, version)
    stale = c.buttons[0]
    await c.say("是")  # on a damaged state: where the person was is lost, nothing stored is
    assert "/inspect" in c.text
    await c.send(Input("button", data=stale.data))
    assert "过期" in c.notice
    await c.say("/inspect")
    await c.press("太平乡")
    await c.press("本年度")
    assert "继续上次的检查" in c.text
