"""Answers that can be true and words understood as inspectors say them, through the dialog
core on SQLite and PostgreSQL: "never filed", checks that ask "are you sure?", button labels
typed, typed choices added to those pressed, a year said in Chinese, hints once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.dialog import Who
from bot.engine import derive
from storage.db import SessionMaker
from storage.models import InspectionFact
from tests.dialog_driver import Chat, make_dialog, seed, state_of, stored_answers
from tests.test_dialog import TYPED


@pytest.fixture
async def world(sessions: SessionMaker, tmp_path: Path) -> dict[str, Any]:
    ids = await seed(sessions)
    dialog = make_dialog(sessions, tmp_path)
    return {**ids, "dialog": dialog, "sessions": sessions, "year": dialog.now_year()}


async def on(world: dict[str, Any], key: str, typed: dict[str, tuple[str, Any]] = TYPED) -> Chat:
    """The inspector of 太平乡 at question ``key``, every question before it answered."""
    c = Chat(world["dialog"], Who("test", "100", "李督查"))
    await c.say("/inspect")
    await c.press("太平乡")
    await c.press("本年度")
    while (current := await asked(world)) != key:
        assert current is not None, f"{key} was never asked"
        if current == "photos":
            await c.press("跳过")
        else:
            await c.say(typed[current][0])
    return c


async def asked(world: dict[str, Any]) -> str | None:
    state = await state_of(world["sessions"], world["inspector"])
    return state.get("question") if state.get("step") == "question" else None


async def answers(world: dict[str, Any]) -> dict[str, Any]:
    return await stored_answers(world["sessions"], world["taiping"], world["year"])


async def test_never_filed_is_an_answer_the_findings_read(world: dict[str, Any]) -> None:
    c = await on(world, "filed_up_to")
    assert "从未归档" in c.labels()
    await c.press("从未归档")
    assert (await answers(world))["filed_up_to"] == "never"
    await c.press("◀ 上一题")
    await c.say("二〇〇六年")
    assert (await answers(world))["filed_up_to"] == 2006
    await c.press("◀ 上一题")
    await c.say("还没有归档")  # said in words
    assert (await answers(world))["filed_up_to"] == "never"
    typed = {**TYPED, "annual_task_done": ("否", False)}
    while (current := await asked(world)) is not None:
        await (c.press("跳过") if current == "photos" else c.say(typed[current][0]))
    assert "档案从未整理归档" in c.text and "已归档到：从未归档" not in c.text  # the review card
    assert "从未归档" in c.text
    await c.press("提交")
    async with world["sessions"]() as s:
        fact = (await s.exec(InspectionFact.__table__.select())).one()  # type: ignore[attr-defined]
    assert "never_filed" in fact.groups and "filing_lagging" not in fact.groups
    checklist = world["dialog"].services.checklists.current
    flags = derive(checklist, await answers(world), world["year"]).flag_keys()
    assert "never_filed" in flags and "filing_lagging" not in flags


async def test_a_village_count_unlike_the_registrys_is_asked_about_not_refused(world: dict[str, Any]) -> None:
    c = await on(world, "villages_total")  # the registry gives 太平乡 12
    await c.say("0")
    assert "名录登记的是 12 个" in c.text and "villages_total" not in await answers(world)
    await c.press("重新填写")
    assert await asked(world) == "villages_total"
    await c.say("0")
    await c.press("确认无误")
    assert (await answers(world))["villages_total"] == 0
    assert await asked(world) != "villages_total"
    # Typed while asked: a new answer to the same question.
    await c.press("◀ 上一题")
    await c.say("18")
    assert "名录登记的是 12 个" in c.text
    await c.say("12")
    assert (await answers(world))["villages_total"] == 12


async def test_a_certificate_with_nothing_in_place_is_confirmed_before_it_is_stored(
    world: dict[str, Any],
) -> None:
    typed = {
        **TYPED,
        "has_room": ("没有", False),
        "archivist": ("没有", "none"),
        "work_state": ("未开始", "not_started"),
    }
    c = await on(world, "certificate", typed)
    await c.say("是")
    assert "请核对" in c.text and "确认无误" in " ".join(c.labels())
    assert "certificate" not in await answers(world)
    await c.press("确认无误")
    assert (await answers(world))["certificate"] is True


async def test_button_labels_typed_do_what_the_buttons_do(world: dict[str, Any]) -> None:
    c = await on(world, "notes")
    await c.say("跳过")  # the optional question's button, typed: skipped, not stored as a note
    assert (await answers(world))["notes"] == "<skipped>"
    assert "请核对" in c.text
    await c.say("提交")
    assert "已提交" in c.text


async def test_back_typed_and_one_on_a_yes_no(world: dict[str, Any]) -> None:
    c = await on(world, "room_mixed")
    await c.say("上一题")
    assert await asked(world) == "room_standard"
    await c.say("1")  # the first button, 是, as on a choice
    assert (await answers(world))["room_standard"] is True


async def test_typed_choices_add_to_those_pressed(world: dict[str, Any]) -> None:
    c = await on(world, "protections")
    await c.press("防火")
    await c.say("防盗、防虫")
    assert (await answers(world))["protections"] == ["fire", "theft", "insects"]
    await c.press("◀ 上一题")
    assert await asked(world) == "protections"
    await c.press("防光")
    await c.say("除了防有毒气体都有")  # says everything at once: replaces what was ticked, and says so
    assert "按您输入的为准" in c.text
    assert (await answers(world))["protections"] == [
        "fire",
        "theft",
        "insects",
        "mould",
        "light",
        "dust",
        "damp",
    ]


async def test_a_year_typed_in_chinese_at_the_year_picker(world: dict[str, Any]) -> None:
    c = Chat(world["dialog"], Who("test", "100", "李督查"))
    await c.say("/inspect")
    await c.press("太平乡")
    year = world["year"]
    digits = "〇一二三四五六七八九"
    await c.say("".join(digits[int(d)] for d in str(year)) + "年")
    assert f"开始检查：太平乡 {year} 年度" in c.text


async def test_hints_once_a_question(world: dict[str, Any]) -> None:
    c = await on(world, "funding_amount")
    assert c.text.count("💡") == 1
    await c.say("很多")
    assert "💡" not in c.text and c.text.count("例如") == 1  # the error says how; no repeat
    assert "【" in c.text  # the question is shown again
