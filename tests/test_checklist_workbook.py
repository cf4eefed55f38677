"""Checklists as XLSForm workbooks: export → import gives the same checklist; a workbook written
by hand imports, installs and is walked in the chat; broken workbooks are refused naming the
sheet, the row and the column."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from typer.testing import CliRunner

from bot.cli import app
from bot.dialog import Who
from bot.engine import builtin_checklist, parse_checklist
from bot.engine.schema import Cond, QType
from bot.engine.workbook_export import export_workbook
from bot.engine.workbook_import import WorkbookError, import_workbook
from bot.engine.xlsform_conditions import compile_condition, render
from storage.db import SessionMaker, transaction
from tests.dialog_driver import Chat, make_dialog, seed, state_of, stored_answers

SURVEY_HEAD = [
    "type",
    "name",
    "label::中文 (zh-CN)",
    "label::English (en)",
    "hint::中文 (zh-CN)",
    "required",
    "relevant",
    "constraint",
    "constraint_message::中文 (zh-CN)",
]


def hand_written(
    path: Path, survey: list[list[Any]] | None = None, choices: list[list[Any]] | None = None
) -> Path:
    """A workbook as an official writes one: Chinese labels, a relevant, a constraint with its
    message, one choice list (状况) shared by two questions, XLSForm's own yes/no list."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "survey"
    ws.append(SURVEY_HEAD)
    rows = survey or [
        ["begin group", "jiben", "基本情况", "Basics"],
        ["select_one yn", "has_room", "有没有专门的档案室？", "Is there an archive room?", None, "yes"],
        [
            "select_one zhuangkuang",
            "room_state",
            "档案室状况如何？",
            None,
            None,
            "yes",
            "${has_room} = 'yes'",
        ],
        ["select_one zhuangkuang", "box_state", "档案盒状况如何？", None, None, "yes"],
        ["end group"],
        ["begin group", "cun", "村(社区)", None],
        [
            "integer",
            "villages_total",
            "共有几个村(社区)？",
            None,
            "填数字",
            "yes",
            None,
            ". >= 0 and . <= 50",
            "要在 0 到 50 之间",
        ],
        [
            "integer",
            "villages_established",
            "其中已建档的有几个？",
            None,
            None,
            "yes",
            "${villages_total} > 0",
            ". <= ${villages_total}",
            "已建档的村不能多于村的总数（{villages_total}）",
        ],
        ["text", "notes", "备注", None, None, "no"],
        ["end group"],
    ]
    for row in rows:
        ws.append(row)
    ch = wb.create_sheet("choices")
    ch.append(["list_name", "name", "label::中文 (zh-CN)"])
    for row in choices or [
        ["yn", "yes", "是"],
        ["yn", "no", "否"],
        ["zhuangkuang", "good", "良好"],
        ["zhuangkuang", "fair", "一般"],
        ["zhuangkuang", "poor", "差"],
    ]:
        ch.append(row)
    st = wb.create_sheet("settings")
    st.append(["form_title", "form_id", "version", "default_language"])
    st.append(["乡镇档案简易检查", "township_archive", 7, "中文 (zh-CN)"])
    wb.save(path)
    return path


def test_shipped_checklist_round_trips_through_a_workbook(tmp_path: Path) -> None:
    shipped = builtin_checklist()
    path = export_workbook(shipped, tmp_path / "清单.xlsx")
    again = import_workbook(path)
    assert again.to_data() == shipped.to_data()
    assert again == parse_checklist(shipped.to_data(), "again")
    # The XLSForm sheets and column names, as openpyxl (or Excel, WPS) sees them.
    wb = load_workbook(path)
    assert wb.sheetnames[:3] == ["survey", "choices", "settings"]
    head = {name: [c.value for c in wb[name][1]] for name in wb.sheetnames}
    survey = head["survey"]
    for column in ("type", "name", "label::zh-CN", "label::en", "hint::zh-CN", "required", "relevant"):
        assert column in survey
    assert {"constraint", "constraint_message::zh-CN"} <= set(survey)
    assert head["choices"][:4] == ["list_name", "name", "label::zh-CN", "label::en"]
    assert head["settings"][:5] == ["form_title", "form_title::en", "form_id", "version", "default_language"]
    assert {"checks", "findings", "score", "report_groups"} <= set(wb.sheetnames)
    rows = {r[1]: r for r in wb["survey"].iter_rows(min_row=2, values_only=True) if r[1]}
    relevant = survey.index("relevant")
    assert rows["room_standard"][relevant] == "${has_room} = 'yes'"
    assert rows["protections"][0] == "select_multiple protections"
    assert rows["leader_named"][survey.index("label::zh-CN")] == "是否明确了分管档案工作的领导？"
    checks = [r for r in wb["checks"].iter_rows(min_row=2, values_only=True)]
    assert ("villages_established_le_total", "${villages_established} <= ${villages_total}") == checks[0][:2]


@pytest.mark.parametrize(
    "text",
    [
        "${has_room} = 'yes'",
        "${n} <= ${m}",
        "${n} >= ${inspection_year} - 3",
        "${n} <= ${inspection_year}",
        "${m} >= ${registry_villages}",
        "selected(${kinds}, 'a')",
        "selected-all(${kinds}, 'a', 'b')",
        "missing-any(${kinds}, 'a', 'b')",
        "not(${has_room} = 'no' and (${n} > 1 or ${m} != ''))",
        "${m} = ''",
        "one-of(${state}, 'good', 'fair')",
    ],
)
def test_conditions_read_back_as_written(text: str) -> None:
    types = {"has_room": QType.yesno, "n": QType.year, "m": QType.integer, "kinds": QType.multi}
    types["state"] = QType.single
    cond = Cond.model_validate(compile_condition(text, types))
    assert Cond.model_validate(compile_condition(render(cond), types)) == cond


def test_xlsform_idioms_compile_to_the_condition_language() -> None:
    types = {"has_room": QType.yesno, "state": QType.single, "n": QType.integer}
    assert compile_condition("${has_room} = 'yes'", types) == {"q": "has_room", "eq": True}
    assert compile_condition("selected(${state}, 'good')", types) == {"q": "state", "eq": "good"}
    assert compile_condition(". <= ${n}", types, self_key="m") == {"q": "m", "le": {"q": "n"}}
    assert compile_condition("5 < ${n}", types) == {"q": "n", "gt": 5}
    assert compile_condition('${state} != "poor" or ${n}>=2', types) == {
        "any": [{"q": "state", "ne": "poor"}, {"q": "n", "ge": 2}]
    }


def test_a_hand_written_workbook_imports(tmp_path: Path) -> None:
    checklist = import_workbook(hand_written(tmp_path / "手写.xlsx"))
    assert (checklist.name, checklist.version, checklist.text()) == (
        "township_archive",
        7,
        "乡镇档案简易检查",
    )
    assert [s.text() for s in checklist.sections] == ["基本情况", "村(社区)"]
    assert checklist.question("has_room").type is QType.yesno  # XLSForm's yes/no list
    assert checklist.question("has_room").label == {
        "zh-CN": "有没有专门的档案室？",
        "en": "Is there an archive room?",
    }
    # one list, two questions
    assert checklist.question("room_state").choice_keys() == checklist.question("box_state").choice_keys()
    assert checklist.question("room_state").when == Cond.model_validate({"q": "has_room", "eq": True})
    assert checklist.question("notes").required is False
    assert checklist.question("villages_total").help_text() == "填数字"
    check = next(c for c in checklist.checks if c.key == "villages_established_constraint")
    assert check.rule == Cond.model_validate({"q": "villages_established", "le": {"q": "villages_total"}})
    assert check.message == {"zh-CN": "已建档的村不能多于村的总数（{villages_total}）"}
    # and round-trips too, the constraints back on their survey rows
    again = import_workbook(export_workbook(checklist, tmp_path / "again.xlsx"))
    assert again.to_data() == checklist.to_data()


def _refusal(path: Path) -> str:
    with pytest.raises(WorkbookError) as caught:
        import_workbook(path)
    return caught.value.message()


def test_broken_workbooks_are_refused_naming_sheet_row_and_column(tmp_path: Path) -> None:
    unknown = [
        ["begin group", "g", "组"],
        ["select_one yn", "has_room", "有没有档案室？", None, None, "yes"],
        ["calculate", "sum", "合计"],
        ["end group"],
    ]
    message = _refusal(hand_written(tmp_path / "a.xlsx", survey=unknown))
    assert "工作表「survey」第 4 行「type」列" in message and "不认识的题型「calculate」" in message

    later = [
        ["begin group", "g", "组"],
        ["select_one zk", "room_state", "档案室状况？", None, None, "yes", "${has_room} = 'yes'"],
        ["select_one yn", "has_room", "有没有档案室？", None, None, "yes"],
        ["end group"],
    ]
    choices = [["yn", "yes", "是"], ["yn", "no", "否"], ["zk", "good", "好"], ["zk", "poor", "差"]]
    message = _refusal(hand_written(tmp_path / "b.xlsx", survey=later, choices=choices))
    assert "工作表「survey」第 3 行「relevant」列" in message and "has_room" in message

    missing = [
        ["begin group", "g", "组"],
        ["select_one zhuangtai", "room_state", "档案室状况？", None, None, "yes"],
        ["end group"],
    ]
    message = _refusal(hand_written(tmp_path / "c.xlsx", survey=missing))
    assert "工作表「survey」第 3 行「type」列" in message and "「zhuangtai」" in message

    bad = [
        ["begin group", "g", "组"],
        ["integer", "n", "几个？", None, None, "yes", "${nobody} = 1"],
        ["integer", "m", "几个？", None, None, "yes", None, ". <= ${n"],
        ["end group"],
    ]
    message = _refusal(hand_written(tmp_path / "d.xlsx", survey=bad))
    assert "第 3 行「relevant」列" in message and "「nobody」不存在" in message
    assert "第 4 行「constraint」列" in message


def test_cli_export_import_and_refusal(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "c.xlsx"
    result = runner.invoke(app, ["checklist", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"township_archive v{builtin_checklist().version}" in result.output
    result = runner.invoke(app, ["checklist", "import", str(out), "--out", str(tmp_path / "c.yaml")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["checklist", "validate", str(tmp_path / "c.yaml")])
    assert result.exit_code == 0 and "校验通过" in result.output
    broken = hand_written(tmp_path / "bad.xlsx", survey=[["note", "n", "说明"]])
    result = runner.invoke(app, ["checklist", "import", str(broken)])
    assert result.exit_code == 1 and "不认识的题型「note」" in result.output


async def test_hand_written_workbook_installed_and_walked_in_the_chat(
    sessions: SessionMaker, tmp_path: Path
) -> None:
    from bot.admin.checklists import install

    ids = await seed(sessions)
    checklist = import_workbook(hand_written(tmp_path / "手写.xlsx"))
    async with transaction(sessions) as s:
        done = await install(s, checklist)
    assert done.new and done.in_use == 7
    dialog = make_dialog(sessions, tmp_path)
    c = Chat(dialog, Who("test", "100", "someone"))
    await c.say("/inspect")
    await c.press("太平乡")
    await c.press("本年度")
    assert "有没有专门的档案室" in c.text
    await c.say("有")
    assert "档案室状况如何" in c.text  # relevant holds
    await c.press("一般")
    assert "档案盒状况如何" in c.text and "一般" in c.labels()  # the shared list
    await c.press("良好")
    await c.say("60")
    assert "要在 0 到 50 之间" in c.text  # the constraint's own message
    await c.say("12")
    await c.say("13")
    assert "已建档的村不能多于村的总数（12）" in c.text
    await c.say("10")
    assert "备注" in c.text
    await c.press("跳过")
    assert "请核对" in c.text
    await c.press("提交")
    assert "已提交" in c.text
    stored = await stored_answers(sessions, ids["taiping"], dialog.now_year())
    assert {k: v for k, v in stored.items() if k != "notes"} == {
        "has_room": True,
        "room_state": "fair",
        "box_state": "good",
        "villages_total": 12,
        "villages_established": 10,
    }
    assert (await state_of(sessions, ids["inspector"])).get("step") != "question"
