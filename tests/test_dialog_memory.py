"""Answers run from memory and committed in groups (``Dialog._from_memory``, ``GroupCommit``):
the same rows as a turn run on the database, and whatever changed meanwhile — another process,
an administrator, a supervisor, a redelivered update — is noticed before anything is written."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, event, update
from sqlmodel import func, select

from bot.dialog import Input, Who
from storage.db import SessionMaker, transaction
from storage.models import Answer, AnswerChange, Assignment, DialogState, Inspection, Person
from storage.queries import inspections as q_insp
from storage.queries.registry import add_person, get_or_create_area, upsert_township
from tests.dialog_driver import Chat, make_dialog, seed, state_of, stored_answers
from tests.test_dialog import TYPED, YEAR_BUTTON


@pytest.fixture
async def world(sessions: SessionMaker, tmp_path: Path) -> dict[str, Any]:
    ids = await seed(sessions)
    dialog = make_dialog(sessions, tmp_path)
    return {**ids, "dialog": dialog, "sessions": sessions, "data_dir": tmp_path, "year": dialog.now_year()}


def statements(world: dict[str, Any]) -> list[str]:
    """SQL the dialog's engine runs from now on, but for the group commit's (which on SQLite
    has an engine of its own)."""
    seen: list[str] = []
    engine = world["sessions"].kw["bind"].sync_engine

    @event.listens_for(engine, "before_cursor_execute")
    def _log(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if not context.execution_options.get("group_commit"):
            seen.append(statement)

    return seen


async def key_of(world: dict[str, Any], person: str = "inspector") -> str | None:
    state = await state_of(world["sessions"], world[person])
    return state.get("q") if state.get("step") == "question" else None


async def opened(world: dict[str, Any], external_id: str = "100", township: str = "太平乡") -> Chat:
    c = Chat(world["dialog"], Who("test", external_id, "someone"))
    await c.say("/inspect")
    if any(township in label for label in c.labels()):
        await c.press(township)
    await c.press(YEAR_BUTTON)
    return c


async def answer(world: dict[str, Any], c: Chat, count: int) -> list[str]:
    keys = []
    for _ in range(count):
        key = str(await key_of(world))
        keys.append(key)
        await c.say(TYPED[key][0])
    return keys


async def rows(sessions: SessionMaker, township_id: int, year: int) -> dict[str, Any]:
    async with sessions() as s:
        insp = (
            await s.exec(
                select(Inspection).where(Inspection.township_id == township_id, Inspection.year == year)
            )
        ).one()
        answers = (await s.exec(select(Answer).where(Answer.inspection_id == insp.id))).all()
        changes = (await s.exec(select(AnswerChange).where(AnswerChange.inspection_id == insp.id))).all()
        state = await s.get(DialogState, insp.inspector_id)
        assert state is not None
        return {
            "answers": {a.question_key: (a.value, a.skipped, a.answered_by) for a in answers},
            "changes": sorted(repr((h.question_key, h.old_value, h.new_value)) for h in changes),
            "updated_at": max(a.answered_at for a in answers) == insp.updated_at,
            "step": {k: v for k, v in state.state.items() if k not in ("seq", "inspection_id")},
        }


async def test_answers_read_nothing_and_store_what_the_database_path_stores(world: dict[str, Any]) -> None:
    c = await opened(world)
    reads = statements(world)
    await c.say(TYPED["leader_named"][0])
    await c.say(TYPED["target_management"][0])
    await c.press("◀ 上一题")
    await c.say("是")  # changed: a second history row
    assert reads == [], "answers ran from memory"

    # The same inputs with memory off (every turn on the database): the same rows.
    other = make_dialog(world["sessions"], world["data_dir"])
    other._commits = None
    c2 = Chat(other, Who("test", "100", "someone"))
    await c2.say("/inspect")
    await c2.press("城关镇")
    await c2.press(YEAR_BUTTON)
    await c2.say(TYPED["leader_named"][0])
    await c2.say(TYPED["target_management"][0])
    await c2.press("◀ 上一题")
    await c2.say("是")
    assert len(reads) > 4, "memory off reads the database every turn"
    a = await rows(world["sessions"], world["taiping"], world["year"])
    b = await rows(world["sessions"], world["chengguan"], world["year"])
    assert a == b
    assert a["answers"]["target_management"] == (True, False, world["inspector"])
    assert a["updated_at"] is True


async def test_a_turn_in_another_process_is_noticed(world: dict[str, Any]) -> None:
    c = await opened(world)
    await answer(world, c, 2)
    # A second bot process answers the next question for the same person.
    elsewhere = Chat(make_dialog(world["sessions"], world["data_dir"]), c.who)
    await elsewhere.say(TYPED[str(await key_of(world))][0])
    expected = await key_of(world)
    # This process's memory is one answer behind: its turn is checked, refused, run again.
    await c.say(TYPED[str(expected)][0])
    stored = await stored_answers(world["sessions"], world["taiping"], world["year"])
    assert len(stored) == 4 and str(expected) in stored
    assert await key_of(world) not in stored


async def test_an_answer_by_someone_else_is_noticed(world: dict[str, Any]) -> None:
    c = await opened(world)
    await answer(world, c, 2)
    assert await key_of(world) == "has_room"
    async with transaction(world["sessions"]) as s:  # the supervisor answers the question after it
        insp = (await s.exec(select(Inspection).where(Inspection.township_id == world["taiping"]))).one()
        await q_insp.set_answer(s, insp.id or 0, "room_standard", True, world["supervisor"], current=None)
    await c.say("有")
    stored = await stored_answers(world["sessions"], world["taiping"], world["year"])
    assert stored["has_room"] is True and stored["room_standard"] is True
    # Asked next from the stored answers, not the remembered ones: room_standard is answered.
    assert await key_of(world) == "room_mixed"


async def test_an_unassigned_inspector_can_no_longer_answer(world: dict[str, Any]) -> None:
    c = await opened(world)
    await answer(world, c, 2)
    async with transaction(world["sessions"]) as s:
        await s.exec(
            delete(Assignment).where(  # type: ignore[arg-type]
                Assignment.person_id == world["inspector"], Assignment.township_id == world["taiping"]
            )
        )
    await c.say("有")
    stored = await stored_answers(world["sessions"], world["taiping"], world["year"])
    assert len(stored) == 2 and "已记录" not in c.text
    assert await key_of(world) is None


async def test_a_deactivated_person_is_a_stranger(world: dict[str, Any]) -> None:
    c = await opened(world)
    await answer(world, c, 1)
    async with transaction(world["sessions"]) as s:
        await s.exec(update(Person).where(Person.id == world["inspector"]).values(active=False))  # type: ignore[arg-type]
    await c.say(TYPED["target_management"][0])
    assert len(await stored_answers(world["sessions"], world["taiping"], world["year"])) == 1
    assert "已记录" not in c.text


async def test_the_same_update_twice_is_applied_once(world: dict[str, Any]) -> None:
    c = await opened(world)
    key = str(await key_of(world))
    first = await c.send(Input.parse_text(TYPED[key][0], update_id="dup-1"))
    again = await c.send(Input.parse_text("否", update_id="dup-1"))
    assert first and again == []
    stored = await stored_answers(world["sessions"], world["taiping"], world["year"])
    assert stored == {key: TYPED[key][1]}
    async with world["sessions"]() as s:
        assert (await s.exec(select(func.count()).select_from(AnswerChange))).one() == 1


async def test_many_inspectors_at_once_are_committed_together(world: dict[str, Any]) -> None:
    sessions: SessionMaker = world["sessions"]
    async with transaction(sessions) as s:
        area = await get_or_create_area(s, "并发县")
        for i in range(12):
            township = await upsert_township(s, area, f"并发乡{i}", 5)
            await add_person(
                s, f"督查员{i}", "inspector", area=area, identities=[("test", f"p{i}")], townships=[township]
            )
    dialog = world["dialog"]
    batches: list[int] = []
    real = dialog._commits._write

    async def counted(turns: Any) -> Any:
        batches.append(len(turns))
        return await real(turns)

    dialog._commits._write = counted
    chats = [await opened(world, f"p{i}", f"并发乡{i}") for i in range(12)]
    batches.clear()

    async def walk(c: Chat) -> None:
        for _ in range(6):
            text = c.text
            key = next(q.key for q in dialog.checklist.questions() if q.text("zh-CN") in text)
            await c.say(TYPED[key][0])

    await asyncio.gather(*(walk(c) for c in chats))
    assert sum(batches) == 12 * 6 and max(batches) > 1, batches
    async with sessions() as s:
        stored = (await s.exec(select(func.count()).select_from(Answer))).one()
    assert stored == 12 * 6


async def answer_while_another_process_writes(world: dict[str, Any]) -> tuple[asyncio.Task[Any], str, Chat]:
    """An answer sent while another process holds SQLite's write lock (released by the caller
    with ``world["other"]``)."""
    engine = world["sessions"].kw["bind"]
    c = await opened(world)
    world["other"] = other = sqlite3.connect(engine.url.database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    key = str(await key_of(world))
    return asyncio.create_task(c.say(TYPED[key][0])), key, c


async def stored_after(world: dict[str, Any], turn: asyncio.Task[Any], key: str, c: Chat) -> None:
    world["other"].execute("ROLLBACK")
    world["other"].close()
    await asyncio.wait_for(turn, 15)
    assert "已记录" in c.text
    assert (await stored_answers(world["sessions"], world["taiping"], world["year"]))[key] == TYPED[key][1]


# SQLite only: its single writer and the group commit's own sqlite3 connection.
SQLITE_ONLY = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


@SQLITE_ONLY
async def test_while_another_process_writes_the_loop_waits_without_blocking(world: dict[str, Any]) -> None:
    turn, key, c = await answer_while_another_process_writes(world)
    started = time.perf_counter()
    for _ in range(20):  # the event loop keeps running meanwhile
        await asyncio.sleep(0.01)
    assert time.perf_counter() - started < 1 and not turn.done()
    await stored_after(world, turn, key, c)


async def test_a_failed_batch_runs_its_turns_again_on_the_database(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    c = await opened(world)

    def broken(db: Any, turns: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("storage.group_commit.commit_turns", broken)
    key = str(await key_of(world))
    await c.say(TYPED[key][0])
    assert "已记录" in c.text
    assert (await stored_answers(world["sessions"], world["taiping"], world["year"]))[key] == TYPED[key][1]


async def test_a_database_turn_that_raced_another_writer_is_not_kept(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database path reads the answers, someone answers another question, then the turn
    writes its own: what it read is stale, so the next answer must not run from it."""
    c = await opened(world)
    await answer(world, c, 2)
    world["dialog"]._kept.clear()  # the next turn runs on the database (as after a restart)
    real = q_insp.answers_of
    raced: list[bool] = []

    async def answers_then_someone_writes(session: Any, inspection_id: int) -> Any:
        found = await real(session, inspection_id)
        if not raced:
            raced.append(True)
            async with transaction(world["sessions"]) as s:
                await q_insp.set_answer(
                    s, inspection_id, "room_mixed", True, world["supervisor"], current=None
                )
        return found

    monkeypatch.setattr(q_insp, "answers_of", answers_then_someone_writes)
    await c.say("有")  # has_room
    await c.say("对")  # room_standard
    assert raced and await key_of(world) == "room_secure", "room_mixed was answered meanwhile"


class _CommitFailsOnce(sqlite3.Connection):
    failed = False

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
        if sql == "COMMIT" and not _CommitFailsOnce.failed:
            _CommitFailsOnce.failed = True
            raise sqlite3.OperationalError("disk I/O error")
        return super().execute(sql, *args)


@SQLITE_ONLY
async def test_a_failed_commit_releases_the_write_lock(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = world["sessions"].kw["bind"]
    c = await opened(world)
    real = sqlite3.connect
    monkeypatch.setattr(
        "storage.group_commit.sqlite3.connect", lambda *a, **kw: real(*a, **kw, factory=_CommitFailsOnce)
    )
    for _ in range(3):  # the first batch fails at COMMIT: run again on the database; then as usual
        key = str(await key_of(world))
        await c.say(TYPED[key][0])
        assert "已记录" in c.text
    assert _CommitFailsOnce.failed
    assert len(await stored_answers(world["sessions"], world["taiping"], world["year"])) == 3
    probe = real(engine.url.database, timeout=0, isolation_level=None)
    probe.execute("BEGIN IMMEDIATE")  # nobody holds the write lock
    probe.execute("ROLLBACK")
    probe.close()


@SQLITE_ONLY
async def test_a_stopped_group_commit_leaves_nobody_waiting(world: dict[str, Any]) -> None:
    turn, key, c = await answer_while_another_process_writes(world)  # the batch waits for the lock…
    await asyncio.sleep(0.05)
    world["dialog"]._commits._flusher.cancel()  # …and is stopped meanwhile
    await asyncio.sleep(0.05)
    await stored_after(world, turn, key, c)  # the turn ran again on the database
