"""The send-back loop and the audit trail: a supervisor returns a submitted inspection with a
comment and the questions to fix; the inspector is notified and a button opens the inspection
at those questions; resubmitting notifies the supervisor; /history shows who changed what."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.dialog import Input, Reply
from storage.db import SessionMaker, transaction
from storage.models import Inspection, InspectionStatus, StatusChange
from storage.queries.dialog_state import load_state
from storage.queries.registry import people_named, remove_person, townships_named, unassign
from tests.dialog_driver import Chat, stored_answers
from tests.people_world import World, build_world, submitted
from tests.test_dialog import TYPED

ALL_ANSWERS: dict[str, Any] = {key: value for key, (_typed, value) in TYPED.items()}
FUNDING_Q = "今年安排的整档经费是多少元？"
VILLAGES_Q = "全乡镇共有多少个村(社区)？"


@pytest.fixture
async def world(sessions: SessionMaker, tmp_path: Path) -> World:
    w = await build_world(sessions, tmp_path, inspections=False)
    w.ids["taiping_insp"] = await submitted(
        sessions, w.dialog, w.ids["taiping"], w.year, w.ids["inspector"], {**ALL_ANSWERS, "photos": None}
    )
    return w


async def inspection(world: World) -> Inspection:
    async with world.sessions() as s:
        found = await s.get(Inspection, world.ids["taiping_insp"])
        assert found is not None
        return found


async def current_question(world: World, who: str = "inspector") -> str | None:
    async with world.sessions() as s:
        state, _ = await load_state(s, world.ids[who])
    return state.get("question") if state.get("step") == "question" else None


def only_note(c: Chat, external_id: str) -> Reply:
    assert [r.to for r in c.notes] == [("test", external_id)], c.notes
    return c.notes[0]


async def press_note(c: Chat, note: Reply) -> None:
    await c.send(Input("button", data=note.buttons[0][0].data))


async def test_return_fix_resubmit_with_both_notifications(world: World) -> None:
    boss, inspector = world.chat("supervisor"), world.chat("inspector")
    await boss.say("/return 太平乡 经费金额与台账不符，请核实")
    assert "退回检查：太平乡" in boss.text and "李督查" in boss.text and "经费金额与台账不符" in boss.text
    assert not boss.notes  # nothing is sent before the supervisor confirms
    await boss.press("指定要修改的问题")
    await boss.press("经费")
    await boss.press(FUNDING_Q[:10])
    assert any(label.startswith("☑") for label in boss.labels())
    await boss.press("◀ 返回")
    await boss.press("◀ 返回")
    assert FUNDING_Q in boss.text
    await boss.press("确认退回")
    assert "已退回 太平乡" in boss.text and "已通知：李督查" in boss.text
    note = only_note(boss, "100")
    assert "赵主任 退回了您提交的 太平乡" in note.text and "经费金额与台账不符" in note.text
    assert FUNDING_Q in note.text and note.buttons[0][0].label == "✎ 去修改"
    stored = await inspection(world)
    assert stored.status == InspectionStatus.returned and stored.return_questions == ["funding_amount"]
    assert (
        stored.returned_by == world.ids["supervisor"]
        and stored.return_comment == "经费金额与台账不符，请核实"
    )

    # The inspector's button opens the inspection at the question to fix.
    await press_note(inspector, note)
    assert "督查室退回意见：经费金额与台账不符" in inspector.text and "【经费】" in inspector.text
    assert await current_question(world) == "funding_amount"
    await inspector.say("8000")
    assert "请核对" in inspector.text  # the only question to fix: then the review
    await inspector.press("提交")
    assert "已提交" in inspector.text and "已通知督查室：赵主任" in inspector.text
    back = only_note(inspector, "300")
    assert "李督查 已修改并重新提交 太平乡" in back.text
    assert (await inspection(world)).status == InspectionStatus.submitted

    # The supervisor's button shows what changed, newest first.
    await press_note(boss, back)
    lines = boss.text.splitlines()
    assert "修改记录" in lines[0] and "状态：已提交" in boss.text
    entries = [line for line in lines if "李督查" in line or "赵主任" in line][1:]
    assert "✔ 提交" in entries[0]
    assert "修改「今年安排的整档经费是多少元？」：5000 元 → 8000 元" in entries[1]
    assert "赵主任 ↩ 退回修改（经费金额与台账不符，请核实）" in entries[2]
    # A stale fix button, after the resubmission: a note, nothing opened.
    await press_note(inspector, note)
    assert "已不在退回状态" in inspector.text
    async with world.sessions() as s:
        kinds = [c.status for c in (await s.exec(select(StatusChange).order_by(StatusChange.id))).all()]  # type: ignore[arg-type]
    assert kinds == ["submitted", "returned", "submitted"]


async def test_fix_walks_every_named_question_in_order(world: World) -> None:
    boss, inspector = world.chat("supervisor"), world.chat("inspector")
    await boss.say(f"/return 太平乡 {world.year} 两处有误")
    await boss.press("指定要修改的问题")
    await boss.press("村(社区)")
    await boss.press(VILLAGES_Q[:10])
    await boss.press("◀ 返回")
    await boss.press("经费")
    await boss.press(FUNDING_Q[:10])
    await boss.press("◀ 返回")
    await boss.press("◀ 返回")
    await boss.press("确认退回")
    note = only_note(boss, "100")
    # Opened from /inspect rather than the button: the same place.
    await inspector.say("/inspect")
    await inspector.press("太平乡")
    await inspector.press("本年度")
    assert "两处有误" in inspector.text and await current_question(world) == "funding_amount"
    await inspector.say("5000")  # confirmed as it was
    assert await current_question(world) == "villages_total"
    await inspector.say("12")
    assert "请核对" in inspector.text
    assert FUNDING_Q in note.text and VILLAGES_Q in note.text


async def test_return_asks_for_a_comment_and_guards_the_status(world: World) -> None:
    boss = world.chat("supervisor")
    await boss.say("/return 太平")
    assert "请输入退回意见" in boss.text and not boss.notes
    await boss.say("照片不清楚")
    assert "意见：照片不清楚" in boss.text
    await boss.say("照片不清楚，请重拍")  # a new text replaces the comment
    assert "意见：照片不清楚，请重拍" in boss.text
    await boss.press("取消")
    assert (await inspection(world)).status == InspectionStatus.submitted
    await boss.say("/return 太平乡 请重拍")
    await boss.press("确认退回")
    await boss.say("/return 太平乡 再退一次")
    assert "已经退回" in boss.text
    await boss.say("/return 城关镇 意见")
    assert "还没有检查记录" in boss.text
    await boss.say("/return")
    assert "用法" in boss.text


async def test_two_supervisors_returning_at_once_return_once(world: World) -> None:
    one, two = world.chat("supervisor"), world.chat("admin")
    for c in (one, two):
        await c.say("/return 太平乡 意见")
    await one.press("确认退回")
    await two.press("确认退回")
    assert "刚刚发生了变化" in two.text and not two.notes
    async with world.sessions() as s:
        returns = (await s.exec(select(StatusChange).where(StatusChange.status == "returned"))).all()
    assert len(returns) == 1


async def test_nobody_outside_the_township_is_notified(world: World) -> None:
    # 李督查 is no longer assigned to 太平乡: he is not told; whoever is assigned now is.
    async with transaction(world.sessions) as s:
        (li,) = await people_named(s, "李督查")
        ((taiping, _),) = await townships_named(s, "太平乡")
        await unassign(s, li, [taiping])
    boss = world.chat("supervisor")
    await boss.say("/return 太平乡 意见")
    await boss.press("确认退回")
    assert not boss.notes and "没有可以通知的督查员" in boss.text
    from bot.admin import service

    await service.assign(world.sessions, "王督查", ["太平乡"])
    async with transaction(world.sessions) as s:
        stored = await s.get(Inspection, world.ids["taiping_insp"])
        assert stored is not None
        stored.status = InspectionStatus.submitted
        s.add(stored)
    await boss.say("/return 太平乡 意见二")
    await boss.press("确认退回")
    note = only_note(boss, "200")
    wang = world.chat("other_inspector")
    await press_note(wang, note)
    assert "意见二" in wang.text and "请核对" in wang.text  # no question named: the review card
    await wang.press("提交")
    only_note(wang, "300")


async def test_resubmission_goes_to_the_supervisors_when_the_returner_is_gone(world: World) -> None:
    admin, inspector = world.chat("admin"), world.chat("inspector")
    await admin.say("/return 太平乡 请补充")
    await admin.press("确认退回")
    async with transaction(world.sessions) as s:
        (qian,) = await people_named(s, "钱局长")
        await remove_person(s, qian)
    await press_note(inspector, only_note(admin, "100"))
    await inspector.press("提交")
    only_note(inspector, "300")  # 赵主任 supervises the city; 孙主任 (西县) is not told


async def test_history_pages_and_edits_after_submission(world: World) -> None:
    inspector, boss = world.chat("inspector"), world.chat("supervisor")
    await inspector.say("/inspect")
    await inspector.press("太平乡")
    await inspector.press("本年度")
    await inspector.press("重新打开")
    await inspector.press("修改")
    await inspector.press("经费")
    await inspector.press(FUNDING_Q[:10])
    await inspector.say("9000")
    await inspector.press("提交")
    await boss.say("/history 太平乡")
    first = boss.text
    assert "共 37 条" in first and "第 1–15 条" in first
    assert first.index("✔ 提交") < first.index("5000 元 → 9000 元") < first.index("重新打开修改")
    assert any("更早的 22 条" in label for label in boss.labels())
    assert "↩ 退回修改" in boss.labels()
    await boss.press("更早的")
    assert boss.replies[0].edit and "第 16–30 条" in boss.text
    await boss.press("更早的")
    assert "第 31–37 条" in boss.text and "填写「" in boss.text
    await boss.press("较新的")
    assert "第 16–30 条" in boss.text
    await boss.say(f"/history 太平乡 {world.year - 1}")
    assert "没有" in boss.text and str(world.year) in boss.text
    stored = await stored_answers(world.sessions, world.ids["taiping"], world.year)
    assert stored["funding_amount"] == 9000
