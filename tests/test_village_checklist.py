"""The village checklist: villages imported with their township, a village inspected with the
village checklist in the chat, the township's own inspection untouched; the township's village
establishment rate from its village inspections where they exist, and the report names them."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.admin import service
from bot.dialog import Who
from bot.engine import builtin_checklist
from storage.db import SessionMaker
from storage.models import ChecklistVersion, Inspection, Township, Village
from tests.dialog_driver import Chat, make_dialog, seed, state_of, stored_answers

TZ = ZoneInfo("Asia/Shanghai")


def registry_file(path: Path) -> Path:
    path.write_text(
        "县(市、区),乡镇,村(社区)数,村(社区)名单\n东县,太平乡,,红旗村、新村、东街社区\n东县,城关镇,18,\n",
        encoding="utf-8",
    )
    return path


async def walk_village(c: Chat, sessions: SessionMaker, person: int, village: str, established: bool) -> None:
    await c.say("/inspect")
    await c.press("太平乡")
    assert "太平乡本级" in c.labels() and village in c.labels()
    await c.press(village)
    await c.press("本年度")
    assert f"太平乡{village}" in c.text and "本村(社区)是否已建立档案" in c.text
    await c.say("是" if established else "没有")
    if established:
        await c.press("档案柜")
        await c.say("1,2")
        await c.say("村会计")
    while (await state_of(sessions, person)).get("step") == "question":
        await c.press("跳过")
    assert "请核对" in c.text
    await c.press("提交")
    assert f"太平乡{village}" in c.text and "已提交" in c.text


async def test_villages_imported_and_a_village_walked(sessions: SessionMaker, tmp_path: Path) -> None:
    ids = await seed(sessions)
    report = await service.import_townships(sessions, registry_file(tmp_path / "名录.csv"))
    assert report.result.villages_added == 3
    again = await service.import_townships(sessions, registry_file(tmp_path / "名录.csv"))
    assert again.result.villages_added == 0
    async with sessions() as s:
        taiping = await s.get(Township, ids["taiping"])
        assert taiping is not None and taiping.villages == 3  # the count from the names
        names = [v.name for v in (await s.exec(select(Village).order_by(Village.id))).all()]
        assert names == ["红旗村", "新村", "东街社区"]

    dialog = make_dialog(sessions, tmp_path)
    c = Chat(dialog, Who("test", "100", "李督查"))
    await walk_village(c, sessions, ids["inspector"], "红旗村", established=True)
    async with sessions() as s:
        inspection = (await s.exec(select(Inspection))).one()
        version = await s.get(ChecklistVersion, inspection.checklist_version_id)
        assert version is not None and version.name == "village_archive"
        assert inspection.village_id is not None and inspection.township_id == ids["taiping"]
    async with sessions() as s:
        rows = (await s.exec(select(Inspection))).all()
        answers = {r.id: r for r in rows}
    assert len(answers) == 1
    # The township's own inspection is another one, with the township checklist.
    await c.say("/inspect")
    await c.press("太平乡")
    await c.press("太平乡本级")
    await c.press("本年度")
    assert "开始检查：太平乡" in c.text and "分管档案工作的领导" in c.text
    township_answers = await stored_answers(sessions, ids["taiping"], dialog.now_year())
    assert township_answers == {}  # the village's answers are not the township's
    # 城关镇 has no villages named: straight to the year, as before.
    await c.say("/cancel")
    await c.say("/inspect")
    await c.press("城关镇")
    assert "请选择检查年度" in c.text


async def test_typed_village_name(sessions: SessionMaker, tmp_path: Path) -> None:
    ids = await seed(sessions)
    await service.import_townships(sessions, registry_file(tmp_path / "名录.csv"))
    c = Chat(make_dialog(sessions, tmp_path), Who("test", "100", "李督查"))
    await c.say("/inspect")
    await c.press("太平乡")
    await c.say("东街")
    assert "太平乡东街社区" in c.text and "本年度" in " ".join(c.labels())
    await c.say("/inspect")
    await c.press("太平乡")
    await c.say("西村")
    assert "没有找到" in c.text and "红旗村" in c.labels()
    assert ids


def test_the_village_checklist_is_valid_and_round_trips(tmp_path: Path) -> None:
    from bot.engine.workbook_export import export_workbook
    from bot.engine.workbook_import import import_workbook

    village = builtin_checklist("village_archive")
    assert village.question("kinds_organised").choice_keys() == ["tax_reform", "land_contract", "other"]
    assert import_workbook(export_workbook(village, tmp_path / "村.xlsx")).to_data() == village.to_data()
