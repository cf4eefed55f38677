"""The dialog core on SQLite and PostgreSQL: a whole checklist, wrong input, back and skip,
stale buttons, duplicates, restarts, carry-forward, photos, access."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import func, select

from bot.dialog import Input, Who
from storage.db import SessionMaker, transaction
from storage.models import AnswerChange, Inspection, InspectionStatus
from storage.queries import inspections as q_insp
from tests.dialog_driver import Chat, make_dialog, seed, state_of, stored_answers

YEAR_BUTTON = "本年度"

# Typed as people type them; the expected stored values follow.
TYPED: dict[str, tuple[str, Any]] = {
    "leader_named": ("是", True),
    "target_management": ("没有", False),
    "top_leader": ("是", True),
    "filing_team": ("否", False),
    "filing_staff": ("两个", 2),
    "has_room": ("有", True),
    "room_standard": ("对", True),
    "room_mixed": ("否", False),
    "iron_door": ("✓", True),
    "window_bars": ("没有", False),
    "has_equipment": ("有", True),
    "equipment_state": ("1", "good"),
    "protections": ("防火、防盗", ["fire", "theft"]),
    "archivist": ("兼职", "parttime"),
    "archivist_certificate": ("是", True),
    "archivist_trained": ("未", False),
    "archivist_is_secretary": ("不是", False),
    "archivist_changes": ("2", 2),
    "guidance_asked": ("有", True),
    "has_funding": ("有", True),
    "funding_amount": ("0.5万元", 5000),
    "filed_up_to": ("二〇〇六年", 2006),
    "filed_quality": ("基本符合", "fair"),
    "annual_task_done": ("否", False),
    "work_state": ("2", "in_progress"),
    "filing_progress": ("八成", 80),
    "documents_scattered": ("没有", False),
    "villages_total": ("十二", 12),
    "villages_established": ("10个", 10),
    "village_kinds": ("1,2", ["tax_reform", "land_contract"]),
    "certificate": ("否", False),
    "notes": ("档案室整洁", "档案室整洁"),
}


@pytest.fixture
async def world(sessions: SessionMaker, tmp_path: Path) -> dict[str, Any]:
    ids = await seed(sessions)
    dialog = make_dialog(sessions, tmp_path)
    return {**ids, "dialog": dialog, "sessions": sessions, "data_dir": tmp_path, "year": dialog.now_year()}


def chat(world: dict[str, Any], external_id: str = "100") -> Chat:
    return Chat(world["dialog"], Who("test", external_id, "someone"))


async def start(world: dict[str, Any], c: Chat, township: str = "太平乡") -> None:
    await c.say("/inspect")
    await c.press(township)
    await c.press(YEAR_BUTTON)


async def current_key(world: dict[str, Any], person: str = "inspector") -> str | None:
    state = await state_of(world["sessions"], world[person])
    return state.get("question") if state.get("step") == "question" else None


async def answer_all(world: dict[str, Any], c: Chat, typed: dict[str, tuple[str, Any]] = TYPED) -> list[str]:
    asked = []
    while (key := await current_key(world)) is not None:
        asked.append(key)
        assert len(asked) < 60, "the dialog loops"
        if key == "photos":
            await c.photo(b"\xff\xd8jpeg-bytes", "ph1")
            await c.press("完成")
        else:
            await c.say(typed[key][0])
    return asked


async def test_whole_checklist_is_stored_reviewed_and_submitted(world: dict[str, Any]) -> None:
    c = chat(world)
    await start(world, c)
    assert "开始检查：太平乡" in c.text and "【组织领导】1/" in c.text
    asked = await answer_all(world, c)
    assert asked[0] == "leader_named" and "notes" in asked
    stored = await stored_answers(world["sessions"], world["taiping"], world["year"])
    for key, (_typed, value) in TYPED.items():
        assert stored[key] == value, key
    assert stored["photos"][0]["unique_id"] == "ph1"
    assert Path(stored["photos"][0]["path"]).read_bytes() == b"\xff\xd8jpeg-bytes"  # noqa: ASYNC240
    # The review card: every section, the flags, the score, and three buttons.
    assert "请核对" in c.text and "【村(社区)】" in c.text and "得分" in c.text
    assert {"✔ 提交", "✎ 修改", "稍后继续"} <= set(c.labels())
    await c.press("提交")
    assert "已提交" in c.text
    async with world["sessions"]() as s:
        insp = (await s.exec(select(Inspection))).one()
        assert insp.status == InspectionStatus.submitted and insp.submitted_by == world["inspector"]
        assert insp.submitted_at is not None


async def test_skip_logic_hides_dependent_questions(world: dict[str, Any]) -> None:
    c = chat(world)
    await start(world, c)
    typed = {
        **TYPED,
        "has_room": ("没有", False),
        "has_equipment": ("没有", False),
        "archivist": ("没有", "none"),
    }
    asked = await answer_all(world, c, typed)
    hidden = ("room_standard", "iron_door", "protections", "equipment_state", "archivist_certificate")
    assert not set(hidden) & set(asked)
    assert "archivist_is_secretary" not in asked  # asked of a part-time archivist only


async def test_wrong_input_gets_message_and_question_again(world: dict[str, Any]) -> None:
    c = chat(world)
    await start(world, c)
    typed = dict(TYPED)
    while (key := await current_key(world)) != "archivist_changes":
        await c.say(typed[key][0])
    await c.say("abc")
    assert "例如" in c.text and "【人员】" in c.text  # what is expected, then the question again
    assert await current_key(world) == "archivist_changes"
    while (key := await current_key(world)) != "filed_up_to":
        await c.say(typed[key][0])
    for bad in ("3000年", "1800"):
        await c.say(bad)
        assert await current_key(world) == "filed_up_to"
    stored = await stored_answers(world["sessions"], world["taiping"], world["year"])
    assert "filed_up_to" not in stored and stored["archivist_changes"] == 2


async def test_established_villages_cannot_exceed_total(world: dict[str, Any]) -> None:
    c = chat(world)
    await start(world, c)
    while (key := await current_key(world)) != "villages_established":
        await c.say(TYPED[key][0])
    await c.say("13")
    assert await current_key(world) == "villages_established"
    assert "12" in c.text
    stored = await stored_answers(world["sessions"], world["taiping"], world["year"])
    assert "villages_established" not in stored


async def test_back_shows_the_earlier_answer_and_changes_it(world: dict[str, Any]) -> None:
    c = chat(world)
    await start(world, c)
    await c.press("是")  # leader_named
    assert await current_key(world) == "target_management"
    await c.press("上一题")
    assert await current_key(world) == "leader_named"
    assert "当前答案：是" in c.text
    await c.press("否")
    stored = await stored_answers(world["sessions"], world["taiping"], world["year"])
    assert stored["leader_named"] is False
    assert await current_key(world) == "target_management"
    await c.press("上一题")
    await c.press("上一题")
    assert "第一题" in c.notice


async def test_skip_only_for_optional_questions(world: dict[str, Any]) -> None:
    c = chat(world)
    await start(world, c)
    assert not any("跳过" in label for label in c.labels())
    while (key := await current_key(world)) != "photos":
        await c.say(TYPED[key][0])
    await c.press("跳过")
    assert await current_key(world) == "notes"
    stored = await stored_answers(world["sessions"], world["taiping"], world["year"])
    assert stored["photos"] == "<skipped>"


async def test_stale_button_changes_nothing(world: dict[str, Any]) -> None:
    c = chat(world)
    await start(world, c)
    old_yes = next(b for b in c.buttons if b.label == "是")
    await c.press("是")  # leader_named, via the fresh button
    before = await stored_answers(world["sessions"], world["taiping"], world["year"])
    state = await state_of(world["sessions"], world["inspector"])
    await c.send(Input("button", data=old_yes.data))  # the same, now stale, button
    assert "过期" in c.notice and not c.text
    assert await stored_answers(world["sessions"], world["taiping"], world["year"]) == before
    assert (await state_of(world["sessions"], world["inspector"]))["seq"] == state["seq"]


async def test_same_update_twice_is_applied_once_and_answered_with_the_current_prompt(
    world: dict[str, Any],
) -> None:
    c = chat(world)
    await start(world, c)
    await c.send(Input.parse_text("是", update_id="dup-1"))
    assert "档案工作是否纳入年度目标管理" in c.text
    # Delivered again (a crash between the commit and the reply): not applied again, and the
    # person sees where they are now, with buttons that work.
    await c.send(Input.parse_text("否", update_id="dup-1"))
    assert "档案工作是否纳入年度目标管理" in c.text and "已记录" not in c.text
    await c.press("否")
    assert "是否有专门的档案室" in c.text
    async with world["sessions"]() as s:
        changes = (await s.exec(select(func.count()).select_from(AnswerChange))).one()
    assert changes == 2
    stored = await stored_answers(world["sessions"], world["taiping"], world["year"])
    assert stored == {"leader_named": True, "target_management": False}


async def test_sticker_and_unknown_command_mid_question(world: dict[str, Any]) -> None:
    c = chat(world)
    await start(world, c)
    await c.send(Input("unsupported"))
    assert "贴纸" in c.text and "【组织领导】1/" in c.text
    await c.say("/frobnicate")
    assert "/frobnicate" in c.text and "【组织领导】1/" in c.text
    await c.say("/help")
    assert "/inspect" in c.text and "【组织领导】1/" in c.text
    assert await current_key(world) == "leader_named"


async def test_cancel_keeps_the_draft_and_resume_continues(world: dict[str, Any]) -> None:
    c = chat(world)
    await start(world, c)
    for _ in range(3):
        await c.say(TYPED[str(await current_key(world))][0])
    await c.say("/cancel")
    assert "已保存" in c.text and await current_key(world) is None
    # A new dialog object over the same database: as after a restart.
    c2 = Chat(make_dialog(world["sessions"], world["data_dir"]), c.who)
    await start(world, c2)
    assert "继续上次的检查" in c2.text and "已答 3 题" in c2.text
    assert await current_key(world) == "room_standard"


async def test_inspect_offers_the_unfinished_inspection_first(world: dict[str, Any]) -> None:
    c = chat(world)
    await start(world, c)
    for _ in range(2):
        await c.say(TYPED[str(await current_key(world))][0])
    where = await current_key(world)
    await c.say("/cancel")
    await c.say("/inspect")
    year = world["year"]
    assert c.labels()[0] == f"▶ 继续：太平乡 {year} 年度"  # one tap back, before the township list
    assert "城关镇" in c.labels()  # nothing started there: not offered to continue
    await c.press("▶ 继续")
    assert "继续上次的检查" in c.text and "已答 2 题，最多还有" in c.text
    assert await current_key(world) == where
    # Someone else's unfinished inspection is neither offered nor opened by a forged button.
    other = chat(world, "200")
    await other.say("/inspect")
    assert not any("继续" in label for label in other.labels())
    async with world["sessions"]() as s:
        taiping = (await s.exec(select(Inspection).where(Inspection.township_id == world["taiping"]))).one()
    seq = other.buttons[0].data.split(":")[0]
    await other.send(Input("button", data=f"{seq}:resume:{taiping.id}"))
    assert "权限" in other.notice, other.notice
    assert "继续上次的检查" not in other.text and "太平乡" not in other.text


async def test_multi_choice_toggles_then_done(world: dict[str, Any]) -> None:
    c = chat(world)
    await start(world, c)
    while (key := await current_key(world)) != "protections":
        await c.say(TYPED[key][0])
    await c.press("防火")
    assert c.replies[0].edit and any(label.startswith("☑") for label in c.labels())
    await c.press("防潮")
    await c.press("☑ 防火")  # untick
    await c.press("完成")
    stored = await stored_answers(world["sessions"], world["taiping"], world["year"])
    assert stored["protections"] == ["damp"]


async def test_carry_forward_from_last_years_submitted_inspection(world: dict[str, Any]) -> None:
    sessions: SessionMaker = world["sessions"]
    dialog = world["dialog"]
    async with transaction(sessions) as s:
        version = await dialog.services.checklists.current_id(s)
        last = await q_insp.start_inspection(
            s, world["taiping"], world["year"] - 1, version, world["inspector"]
        )
        await s.flush()
        assert last.id is not None
        await q_insp.set_answer(s, last, "leader_named", False, world["inspector"], current=None)
        await q_insp.submit(s, last, world["inspector"])
    c = chat(world)
    await start(world, c)
    assert f"去年（{world['year'] - 1}）：否" in c.text
    await c.press("仍然如此")
    stored = await stored_answers(sessions, world["taiping"], world["year"])
    assert stored["leader_named"] is False


async def test_photo_where_text_is_expected(world: dict[str, Any]) -> None:
    c = chat(world)
    await start(world, c)
    await c.photo(b"x", "p0")
    assert "文字回答" in c.text and await current_key(world) == "leader_named"


async def test_stranger_sees_only_how_to_get_access(world: dict[str, Any]) -> None:
    c = chat(world, "999")
    for text in ("/inspect", "/start", "太平乡", "/help"):
        await c.say(text)
        assert len(c.replies) == 1 and "邀请" in c.text and not c.buttons
    await c.send(Input("button", data="1:township:1"))
    assert "邀请" in c.text


async def test_inspector_sees_only_assigned_townships(world: dict[str, Any]) -> None:
    c = chat(world)
    await c.say("/inspect")
    assert set(c.labels()) == {"太平乡", "城关镇"}
    state = await state_of(world["sessions"], world["inspector"])
    await c.send(Input("button", data=f"{state['seq']}:township:{world['xinhua']}"))  # forged: not theirs
    assert "权限" in c.notice + c.text
    await c.say("新华")
    assert "没有找到" in c.text
    supervisor = chat(world, "300")
    await supervisor.say("/inspect")
    assert set(supervisor.labels()) == {"太平乡", "城关镇", "新华乡"}


async def test_reopen_submitted_only_by_its_inspector_or_a_supervisor(world: dict[str, Any]) -> None:
    c = chat(world)
    await start(world, c)
    await answer_all(world, c)
    await c.press("提交")
    await start(world, c)
    assert "已提交" in c.text
    await c.press("重新打开")
    async with world["sessions"]() as s:
        assert (await s.exec(select(Inspection))).one().status == InspectionStatus.draft
    assert "请核对" in c.text
    await c.press("提交")
    # Another inspector, even if assigned later, may not reopen someone else's submission.
    async with transaction(world["sessions"]) as s:
        from storage.models import Assignment

        s.add(Assignment(person_id=world["other"], township_id=world["taiping"]))
    other = chat(world, "200")
    await start(world, other)
    assert "已提交" in other.text and "重新打开" not in " ".join(other.labels())


async def test_edit_from_review(world: dict[str, Any]) -> None:
    c = chat(world)
    await start(world, c)
    await answer_all(world, c)
    await c.press("修改")
    await c.press("经费")
    await c.press("整档经费")  # funding_amount's label starts with that or similar
    await c.say("8000")
    assert "请核对" in c.text
    stored = await stored_answers(world["sessions"], world["taiping"], world["year"])
    assert stored["funding_amount"] == 8000


async def test_forged_stateless_buttons_are_refused(world: dict[str, Any]) -> None:
    c = chat(world)
    await c.say("/inspect")
    await c.press("太平乡")
    for forged in ("x:year:-5", "x:reopen:", "x:submit:", "x:answer:yes"):
        await c.send(Input("button", data=forged))
        assert "过期" in c.notice, forged
    async with world["sessions"]() as s:
        assert (await s.exec(select(Inspection))).all() == []


async def test_reopen_refused_when_returned_meanwhile(world: dict[str, Any]) -> None:
    c = chat(world)
    await start(world, c)
    await answer_all(world, c)
    await c.press("提交")
    await start(world, c)
    assert "重新打开" in " ".join(c.labels())
    async with transaction(world["sessions"]) as s:  # the supervisor returns it in the meantime
        insp = (await s.exec(select(Inspection))).one()
        assert await q_insp.return_inspection(s, insp, world["supervisor"], "请补充照片", [])
    await c.press("重新打开")
    assert "刚刚被别人改变" in c.text
    async with world["sessions"]() as s:
        assert (await s.exec(select(Inspection))).one().status == InspectionStatus.returned
