"""Installing a checklist version at run time: new inspections use it at once, an inspection
already started finishes on its own version, the report reads both; what would misread the
stored answers is refused with the reason; ``checklist list`` shows what is in use."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot.admin.checklists import InstallRefused, install, listing
from bot.cli import app
from bot.dialog import Who
from bot.engine import Checklist, builtin_checklist, parse_checklist
from bot.engine.workbook_export import export_workbook
from bot.reports.docx_report import ReportOptions, report_text
from bot.reports.summary import build_summary
from storage.db import SessionMaker, transaction
from storage.models import ChecklistVersion, Inspection, InspectionStatus
from storage.queries.summary import Scope
from tests.dialog_driver import Chat, make_dialog, seed, state_of
from tests.test_dialog import TYPED

TZ = ZoneInfo("Asia/Shanghai")
NEW_QUESTION = {
    "key": "catalogue_kept",
    "type": "yesno",
    "short": {"zh-CN": "案卷目录", "en": "catalogue"},
    "label": {"zh-CN": "是否编制了案卷目录？", "en": "Is there a file catalogue?"},
}


SHIPPED = builtin_checklist().version
NEXT = SHIPPED + 1


def next_version(**changes: Any) -> Checklist:
    """The shipped checklist as its next version: one question more, one label reworded."""
    data = copy.deepcopy(builtin_checklist().to_data())
    data["version"] = NEXT
    data["sections"][0]["questions"][0]["label"]["zh-CN"] = "是否明确了分管档案工作的领导（第四版）？"
    data["sections"][1]["questions"].append(dict(NEW_QUESTION))
    data.update(changes)
    return parse_checklist(data, "v4")


async def key_of(sessions: SessionMaker, person: int) -> str | None:
    state = await state_of(sessions, person)
    return state.get("question") if state.get("step") == "question" else None


async def answer(sessions: SessionMaker, c: Chat, person: int, until: str | None = None) -> list[str]:
    asked: list[str] = []
    while (key := await key_of(sessions, person)) is not None and key != until:
        asked.append(key)
        assert len(asked) < 60
        if key == "photos":
            await c.press("跳过")
        elif key == NEW_QUESTION["key"]:
            await c.say("是")
        else:
            await c.say(TYPED[key][0])
        if any("确认无误" in label for label in c.labels()):  # 12 villages, the registry says 18
            await c.press("确认无误")
    return asked


async def test_version_installed_mid_inspection(sessions: SessionMaker, tmp_path: Path) -> None:
    ids = await seed(sessions)
    dialog = make_dialog(sessions, tmp_path)
    year = dialog.now_year()
    c = Chat(dialog, Who("test", "100", "someone"))
    await c.say("/inspect")
    await c.press("太平乡")
    await c.press("本年度")
    await answer(sessions, c, ids["inspector"], until="has_equipment")  # half done, on v3

    async with transaction(sessions) as s:  # the administrator installs v4; the bot runs on
        done = await install(s, next_version())
    assert done.new and done.in_use == NEXT

    rest = await answer(sessions, c, ids["inspector"])
    assert NEW_QUESTION["key"] not in rest and rest[0] == "has_equipment"
    await c.press("提交")
    assert "已提交" in c.text

    await c.say("/inspect")
    await c.press("城关镇")
    await c.press("本年度")
    assert "（第四版）" in c.text  # v4's wording
    asked = await answer(sessions, c, ids["inspector"])
    assert NEW_QUESTION["key"] in asked
    await c.press("提交")

    async with sessions() as s:
        versions = {
            i.township_id: (await s.get(ChecklistVersion, i.checklist_version_id)).version  # type: ignore[union-attr]
            for i in (await s.exec(select(Inspection))).all()
        }
        assert versions == {ids["taiping"]: SHIPPED, ids["chengguan"]: NEXT}
        statuses = {i.status for i in (await s.exec(select(Inspection))).all()}
        assert statuses == {InspectionStatus.submitted}
        summary = await build_summary(s, Scope(), year, tz=TZ)
    # Both inspections are read, each by its own version: the same answers, the same groups.
    for group in ("room_standard", "funded", "staff_assigned"):
        assert {ty.name for ty in summary.group(group)} == {"太平乡", "城关镇"}, group
    text = report_text(summary, ReportOptions("督查室", "办公室", TZ)).text()
    assert "太平乡" in text and "城关镇" in text


async def test_refusals_and_the_listing(sessions: SessionMaker) -> None:
    async with transaction(sessions) as s:
        rows = await listing(s, ["township_archive"])
        assert [(r.version, r.in_use, r.stored_at) for r in rows] == [(SHIPPED, True, None)]
        # a key whose type changed (archivist_changes: a number in v3)
        data = next_version().to_data()
        for section in data["sections"]:
            for q in section["questions"]:
                if q["key"] == "notes":
                    q["type"] = "integer"
                    q.pop("max_length")
        clash = parse_checklist(data, "clash")
        with pytest.raises(InstallRefused) as refused:
            await install(s, clash)
        message = refused.value.render()
        assert "「notes」" in message and f"v{SHIPPED} 里是文字" in message and "整数" in message
        # a version that is not newer than the shipped one
        older = parse_checklist({**next_version().to_data(), "version": 2}, "v2")
        with pytest.raises(InstallRefused) as refused:
            await install(s, older)
        assert "不比它新" in refused.value.render() and f"改为 {NEXT}" in refused.value.render()
        same_number = parse_checklist({**next_version().to_data(), "version": SHIPPED}, "shipped, changed")
        with pytest.raises(InstallRefused) as refused:
            await install(s, same_number)
        assert "version 改大" in refused.value.render()
        await install(s, next_version())
        again = await install(s, next_version())
        assert not again.new and again.in_use == NEXT
        rows = await listing(s, ["township_archive"])
        assert [(r.version, r.in_use) for r in rows] == [(SHIPPED, False), (NEXT, True)]


def test_cli_install_and_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite'}")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    workbook = export_workbook(next_version(), tmp_path / "v4.xlsx")
    result = runner.invoke(app, ["checklist", "list"])
    assert result.exit_code == 0, result.output
    assert f"● township_archive v{SHIPPED}" in result.output
    result = runner.invoke(app, ["checklist", "install", str(workbook)])
    assert result.exit_code == 0, result.output
    assert f"已安装 township_archive v{NEXT}" in result.output
    result = runner.invoke(app, ["checklist", "list"])
    assert (
        f"○ township_archive v{SHIPPED}" in result.output and f"● township_archive v{NEXT}" in result.output
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"name: township_archive\nversion: {NEXT + 1}\n", encoding="utf-8")
    result = runner.invoke(app, ["checklist", "install", str(bad)])
    assert result.exit_code == 1
