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


async def test_the_township_rate_comes_from_its_villages(sessions: SessionMaker, tmp_path: Path) -> None:
    from bot.reports.docx_report import ReportOptions, report_text
    from bot.reports.summary import build_summary
    from storage.queries.summary import Scope
    from tests.test_checklist_install import answer

    ids = await seed(sessions)
    await service.import_townships(sessions, registry_file(tmp_path / "名录.csv"))
    dialog = make_dialog(sessions, tmp_path)
    year = dialog.now_year()
    c = Chat(dialog, Who("test", "100", "李督查"))
    await walk_village(c, sessions, ids["inspector"], "红旗村", established=True)
    await walk_village(c, sessions, ids["inspector"], "新村", established=False)
    # 城关镇's own inspection: 12 villages, 10 with archives (its answer, the registry says 18)
    await c.say("/inspect")
    await c.press("城关镇")
    await c.press("本年度")
    await answer(sessions, c, ids["inspector"])
    await c.press("提交")
    assert "已提交" in c.text
    async with sessions() as s:
        summary = await build_summary(s, Scope(), year, tz=TZ)
    v = summary.villages
    # 太平乡: 1 of its 3 (红旗村 yes, 新村 no, 东街社区 not inspected); 城关镇: 10 of 12 as
    # answered; 新华乡 (not inspected): its 9 from the registry, none established.
    assert (v.part, v.total) == (1 + 10, 3 + 12 + 9)
    assert (v.townships_villages, v.townships_reported, v.townships_registry) == (1, 1, 1)
    taiping = next(ty for ty in summary.townships if ty.name == "太平乡")
    assert summary.village_rate_of(taiping) == 1 / 3
    assert "太平乡" in [ty.name for ty in summary.villages_slow]
    text = report_text(summary, ReportOptions("督查室", "办公室", TZ)).text()
    assert "其中1个乡镇按其村（社区）自己的检查记录计" in text
    line = "太平乡检查了2个村（社区），已建档的有红旗村，未建档的有新村，其余1个村（社区）尚无检查记录"
    assert line in text
    assert "其中已提交检查记录的1个乡镇报告村（社区）12个" in text


async def test_a_village_inspection_is_continued_from_inspect(sessions: SessionMaker, tmp_path: Path) -> None:
    ids = await seed(sessions)
    await service.import_townships(sessions, registry_file(tmp_path / "名录.csv"))
    dialog = make_dialog(sessions, tmp_path)
    c = Chat(dialog, Who("test", "100", "李督查"))
    await c.say("/inspect")
    await c.press("太平乡")
    await c.press("红旗村")
    await c.press("本年度")
    await c.say("是")
    where = (await state_of(sessions, ids["inspector"])).get("question")
    await c.say("/cancel")
    await c.say("/inspect")
    assert c.labels()[0] == f"▶ 继续：太平乡红旗村 {dialog.now_year()} 年度", (c.labels(), c.text)
    await c.press("▶ 继续")
    assert "继续上次的检查：太平乡红旗村" in c.text and "已答 1 题" in c.text
    assert (await state_of(sessions, ids["inspector"])).get("question") == where


async def test_the_status_card_says_which_villages_were_inspected(
    sessions: SessionMaker, tmp_path: Path
) -> None:
    ids = await seed(sessions)
    await service.import_townships(sessions, registry_file(tmp_path / "名录.csv"))
    dialog = make_dialog(sessions, tmp_path)
    c = Chat(dialog, Who("test", "100", "李督查"))
    await c.say("/status 太平乡")
    year = dialog.now_year()
    assert f"村（社区）检查（{year}年度）：名录中的 3 个村（社区）都尚无检查记录" in c.text
    assert "还没有任何年度的检查记录" in c.text  # the township itself: no record either
    await walk_village(c, sessions, ids["inspector"], "红旗村", established=True)
    await c.say("/status 太平乡")
    assert f"村（社区）检查（{year}年度）：红旗村（已提交）；其余 2 个村（社区）尚无检查记录" in c.text
    await c.say("/status 城关镇")  # no villages in the registry: no line about them
    assert "村（社区）检查" not in c.text


async def test_the_export_has_a_sheet_of_village_inspections(sessions: SessionMaker, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from bot.reports.xlsx_export import load_export, write_export
    from storage.queries.summary import Scope

    ids = await seed(sessions)
    await service.import_townships(sessions, registry_file(tmp_path / "名录.csv"))
    dialog = make_dialog(sessions, tmp_path)
    c = Chat(dialog, Who("test", "100", "李督查"))
    await walk_village(c, sessions, ids["inspector"], "红旗村", established=True)
    await walk_village(c, sessions, ids["inspector"], "新村", established=False)
    async with sessions() as s:
        data = await load_export(s, Scope(), dialog.now_year(), tz=TZ, locale="zh-CN")
    book = load_workbook(write_export(data, tmp_path / "x.xlsx"), read_only=True)
    assert "村(社区)检查" in book.sheetnames
    rows = [list(r) for r in book["村(社区)检查"].iter_rows(values_only=True)]
    assert rows[0][:4] == ["乡镇", "村(社区)", "年度", "状态"] and "本村(社区)是否已建立档案？" in rows[0]
    established = rows[0].index("本村(社区)是否已建立档案？")
    assert [(r[0], r[1], r[established]) for r in rows[1:]] == [
        ("太平乡", "红旗村", "是"),
        ("太平乡", "新村", "否"),
    ]
    # The township sheets are the townships' own: no village among their rows.
    townships = [r[0] for r in book["检查记录"].iter_rows(min_row=2, values_only=True)]
    assert "红旗村" not in townships
