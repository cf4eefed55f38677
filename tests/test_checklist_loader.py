"""The shipped checklist, the loader's refusals, the CLI, and checklist versioning."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from bot.engine import (
    ChecklistError,
    Ok,
    ParseContext,
    QType,
    builtin_checklist,
    builtin_path,
    derive,
    effective_answers,
    format_value,
    load_checklist,
    parse_answer,
    parse_checklist,
)
from bot.engine.cli import checklist_app

FLAG_KEYS = [
    "no_archive_room",
    "room_mixed",
    "no_equipment",
    "equipment_rotten",
    "missing_protections",
    "no_archivist",
    "equipment_worn",
    "never_filed",
    "filing_lagging",
    "no_certificate",
    "frequent_changes",
    "no_funding",
    "filing_not_started",
    "documents_scattered",
    "filing_done",
    "certificate_received",
]
QUESTION_KEYS = [
    "leader_named",
    "target_management",
    "has_room",
    "room_standard",
    "room_mixed",
    "iron_door",
    "window_bars",
    "protections",
    "has_equipment",
    "equipment_state",
    "archivist",
    "archivist_certificate",
    "archivist_trained",
    "archivist_is_secretary",
    "archivist_changes",
    "has_funding",
    "funding_amount",
    "filed_up_to",
    "annual_task_done",
    "work_state",
    "documents_scattered",
    "villages_total",
    "villages_established",
    "village_kinds",
    "certificate",
    "photos",
    "notes",
]


# ---------------------------------------------------------------------------- the shipped file


def test_shipped_checklist_validates() -> None:
    c = load_checklist(builtin_path())
    assert c.name == "township_archive"
    assert c.version == 4
    assert c.title["zh-CN"] and c.title["en"]
    assert builtin_checklist() is builtin_checklist()
    assert builtin_checklist() == c


def test_sections_in_order() -> None:
    c = builtin_checklist()
    assert [s.title["zh-CN"] for s in c.sections] == [
        "组织领导",
        "档案室",
        "装具",
        "人员",
        "经费",
        "归档",
        "村(社区)",
        "合格证",
        "工作机制",
        "照片与备注",
    ]


def test_question_keys_types_and_labels() -> None:
    c = builtin_checklist()
    keys = [q.key for q in c.questions()]
    assert len(keys) == len(set(keys)) == 33
    for key in QUESTION_KEYS:
        assert key in keys
    for q in c.questions():
        assert q.label["zh-CN"] and q.label["en"], q.key
        assert q.text("zh-CN") == q.label["zh-CN"]
        assert q.text("en") == q.label["en"]
        assert q.text("fr") == q.label["zh-CN"]
        for choice in q.choices:
            assert choice.label["zh-CN"] and choice.label["en"]
    assert {q.type for q in c.questions()} == set(QType)
    assert c.question("protections").choice_keys() == [
        "fire",
        "theft",
        "insects",
        "mould",
        "light",
        "dust",
        "damp",
        "gas",
    ]
    assert c.question("equipment_state").choice_keys() == ["good", "worn", "rotten"]
    assert c.question("archivist").choice_keys() == ["fulltime", "parttime", "none"]
    assert c.question("work_state").choice_keys() == ["not_started", "in_progress", "done"]
    assert c.question("village_kinds").choice_keys() == ["tax_reform", "land_contract", "other"]
    assert c.question("filed_up_to").min == 1949
    assert c.question("filed_up_to").max == "inspection_year"
    assert c.question("funding_amount").unit == {"zh-CN": "元", "en": "yuan"}
    assert not c.question("photos").required and not c.question("notes").required


def test_lookup_helpers() -> None:
    c = builtin_checklist()
    assert c.index("leader_named") == 0
    assert c.questions()[c.index("certificate")].key == "certificate"
    assert c.section_of("protections").key == "room"  # measures of the room (version 3)
    assert c.section_of("villages_established").title["zh-CN"] == "村(社区)"
    with pytest.raises(KeyError):
        c.question("nope")
    with pytest.raises(KeyError):
        c.index("nope")


def test_skip_logic_is_in_the_yaml() -> None:
    c = builtin_checklist()
    assert c.question("equipment_state").when.q == "has_equipment"  # type: ignore[union-attr]
    for key in ("protections", "iron_door", "window_bars"):  # the room's, whatever the equipment
        assert c.question(key).when.q == "has_room"  # type: ignore[union-attr]
    for key in ("archivist_certificate", "archivist_trained"):
        when = c.question(key).when
        assert when is not None and when.q == "archivist" and when.ne == "none"
    secretary = c.question("archivist_is_secretary").when
    assert secretary is not None and secretary.eq == "parttime"
    assert c.question("funding_amount").when is not None


def test_flags_checks_and_score_are_in_the_yaml() -> None:
    c = builtin_checklist()
    assert [f.key for f in c.flags] == FLAG_KEYS
    assert {f.severity for f in c.flags} <= {"high", "medium", "low", "good"}
    assert c.flag("filing_done").severity == "good"
    assert [(ch.key, ch.confirm) for ch in c.checks] == [
        ("villages_established_le_total", False),
        ("task_done_but_not_started", False),
        ("villages_as_registered", True),
        ("task_done_but_filed_long_ago", True),
        ("certificate_without_the_basics", True),
    ]
    assert sum(item.weight for item in c.score) == 100


def test_to_data_round_trips_and_is_json() -> None:
    c = builtin_checklist()
    data = c.to_data()
    again = parse_checklist(json.loads(json.dumps(data, ensure_ascii=False)), "snapshot")
    assert again == c
    assert again.to_data() == data


# ---------------------------------------------------------------------------- loader faults


def _data() -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load(builtin_path().read_text(encoding="utf-8")))


def _question(data: dict[str, Any], key: str) -> dict[str, Any]:
    for section in data["sections"]:
        for q in section["questions"]:
            if q["key"] == key:
                return q
    raise KeyError(key)


def _refuse(tmp_path: Path, data: dict[str, Any]) -> ChecklistError:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(ChecklistError) as info:
        load_checklist(path)
    err = info.value
    assert str(path) in str(err)
    assert str(path) in err.message("en")
    return err


def test_fault_unknown_key(tmp_path: Path) -> None:
    data = _data()
    _question(data, "has_room")["colour"] = "red"
    err = _refuse(tmp_path, data)
    assert "问题 has_room" in str(err)
    assert "未知的字段“colour”" in str(err)
    assert "question has_room: unknown key 'colour'" in err.message("en")


def test_fault_unknown_key_in_when(tmp_path: Path) -> None:
    data = _data()
    _question(data, "room_standard")["when"] = {"q": "has_room", "equals": True}
    err = _refuse(tmp_path, data)
    assert "问题 room_standard" in str(err) and "未知的字段“when.equals”" in str(err)


def test_fault_duplicate_question_key(tmp_path: Path) -> None:
    data = _data()
    _question(data, "iron_door")["key"] = "has_room"
    err = _refuse(tmp_path, data)
    assert "问题 has_room：键“has_room”重复" in str(err)
    assert "question has_room: duplicate key 'has_room'" in err.message("en")


def test_fault_duplicate_choice_key(tmp_path: Path) -> None:
    data = _data()
    _question(data, "archivist")["choices"][1]["key"] = "fulltime"
    err = _refuse(tmp_path, data)
    assert "问题 archivist" in str(err) and "choices.fulltime" in str(err) and "重复" in str(err)


def test_fault_duplicate_yaml_mapping_key(tmp_path: Path) -> None:
    text = (
        builtin_path()
        .read_text(encoding="utf-8")
        .replace(
            "      - key: leader_named\n        type: yesno\n",
            "      - key: leader_named\n        type: yesno\n        type: integer\n",
        )
    )
    path = tmp_path / "dup.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ChecklistError) as info:
        load_checklist(path)
    assert str(path) in str(info.value)
    assert "键“type”写了两次" in str(info.value)


def test_fault_choices_missing(tmp_path: Path) -> None:
    data = _data()
    del _question(data, "equipment_state")["choices"]
    err = _refuse(tmp_path, data)
    assert "问题 equipment_state：单选题必须列出至少两个选项" in str(err)
    assert "question equipment_state: a single choice question needs at least two choices" in err.message(
        "en"
    )


def test_fault_choices_on_a_yesno_question(tmp_path: Path) -> None:
    data = _data()
    _question(data, "has_room")["choices"] = [{"key": "a", "label": {"zh-CN": "甲"}}]
    err = _refuse(tmp_path, data)
    assert "问题 has_room：是/否题不能有选项" in str(err)


def test_fault_when_on_unknown_question(tmp_path: Path) -> None:
    data = _data()
    _question(data, "room_standard")["when"] = {"q": "has_rooom", "eq": True}
    err = _refuse(tmp_path, data)
    assert "问题 room_standard：条件“when”引用了不存在的问题“has_rooom”" in str(err)
    assert "refers to an unknown question 'has_rooom'" in err.message("en")


def test_fault_when_on_later_question(tmp_path: Path) -> None:
    data = _data()
    _question(data, "has_room")["when"] = {"q": "has_equipment", "eq": True}
    err = _refuse(tmp_path, data)
    assert "问题 has_room：条件“when”引用了问题“has_equipment”，但它不在本题之前" in str(err)
    assert "which does not come before this one" in err.message("en")


def test_fault_when_on_itself(tmp_path: Path) -> None:
    data = _data()
    _question(data, "has_room")["when"] = {"q": "has_room", "eq": True}
    err = _refuse(tmp_path, data)
    assert "引用了问题“has_room”，但它不在本题之前" in str(err)


def test_fault_when_nested_later_reference(tmp_path: Path) -> None:
    data = _data()
    _question(data, "room_standard")["when"] = {
        "all": [{"q": "has_room", "eq": True}, {"not": {"q": "certificate", "eq": True}}]
    }
    err = _refuse(tmp_path, data)
    assert "条件“when.all.1.not”引用了问题“certificate”" in str(err)


def test_fault_type_mismatch_field(tmp_path: Path) -> None:
    data = _data()
    _question(data, "has_room")["required"] = "maybe"
    err = _refuse(tmp_path, data)
    assert "问题 has_room：字段“required”的类型不对" in str(err) and '"maybe"' in str(err)


def test_fault_unknown_type(tmp_path: Path) -> None:
    data = _data()
    _question(data, "has_room")["type"] = "boolean"
    err = _refuse(tmp_path, data)
    assert '问题 has_room：字段“type”的值 "boolean" 无效' in str(err)
    assert "yesno" in str(err)


def test_fault_when_type_mismatch(tmp_path: Path) -> None:
    data = _data()
    _question(data, "room_standard")["when"] = {"q": "has_room", "eq": "yes"}
    err = _refuse(tmp_path, data)
    assert '问题 room_standard：条件“when”类型不符：“has_room”是是/否题，不能用 eq "yes"' in str(err)
    assert "'has_room' is a yes/no question and cannot take eq \"yes\"" in err.message("en")


def test_fault_when_comparison_on_choice_question(tmp_path: Path) -> None:
    data = _data()
    _question(data, "archivist_certificate")["when"] = {"q": "archivist", "gt": 1}
    err = _refuse(tmp_path, data)
    assert "“archivist”是单选题，不能用 gt 1" in str(err)


def test_fault_when_unknown_choice(tmp_path: Path) -> None:
    data = _data()
    _question(data, "archivist_certificate")["when"] = {"q": "archivist", "ne": "nobody"}
    err = _refuse(tmp_path, data)
    assert "问题 archivist_certificate：条件“when”里的“nobody”不是问题“archivist”的选项" in str(err)


def test_fault_when_malformed(tmp_path: Path) -> None:
    data = _data()
    _question(data, "room_standard")["when"] = {"q": "has_room", "eq": True, "ne": False}
    err = _refuse(tmp_path, data)
    assert "问题 room_standard：条件“when”写法不对" in str(err)


def test_fault_missing_field(tmp_path: Path) -> None:
    data = _data()
    del _question(data, "has_room")["label"]
    err = _refuse(tmp_path, data)
    assert "问题 has_room：缺少必填字段“label”" in str(err)


def test_fault_missing_zh_label(tmp_path: Path) -> None:
    data = _data()
    _question(data, "has_room")["label"] = {"en": "Room?"}
    err = _refuse(tmp_path, data)
    assert "问题 has_room：缺少 zh-CN 文本（label）" in str(err)


def test_fault_bounds_on_yesno_and_order(tmp_path: Path) -> None:
    data = _data()
    _question(data, "has_room")["min"] = 1
    _question(data, "villages_total")["min"] = 600
    err = _refuse(tmp_path, data)
    assert "问题 has_room：是/否题不能设置“min”" in str(err)
    assert "问题 villages_total：最小值 600 大于最大值 500" in str(err)
    assert len(err.problems) == 2


def test_fault_flag_on_unknown_question(tmp_path: Path) -> None:
    data = _data()
    data["flags"][0]["when"] = {"q": "no_such_question", "eq": False}
    err = _refuse(tmp_path, data)
    assert "标志 no_archive_room：条件“when”引用了不存在的问题“no_such_question”" in str(err)


def test_flags_may_read_any_question(tmp_path: Path) -> None:
    data = _data()
    data["flags"][0]["when"] = {"all": [{"q": "certificate", "eq": False}, {"q": "has_room", "eq": False}]}
    path = tmp_path / "ok.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert load_checklist(path).flags[0].when.all_ is not None


def test_fault_check_on_unknown_question(tmp_path: Path) -> None:
    data = _data()
    data["checks"][0]["rule"] = {"q": "villages_established", "le": {"q": "villages_count"}}
    err = _refuse(tmp_path, data)
    assert "校验 villages_established_le_total：条件“rule”引用了不存在的问题“villages_count”" in str(err)


def test_fault_score_map_unknown_choice(tmp_path: Path) -> None:
    data = _data()
    item = next(i for i in data["score"] if i["key"] == "archivist")
    item["map"]["values"]["volunteer"] = 0.2
    err = _refuse(tmp_path, data)
    assert "评分项 archivist" in str(err) and "“volunteer”不是问题“archivist”的选项" in str(err)


def test_fault_score_two_sources(tmp_path: Path) -> None:
    data = _data()
    data["score"][0]["share"] = "protections"
    err = _refuse(tmp_path, data)
    assert "评分项 leader_named：评分项必须且只能有 when、map、share、fact 之一" in str(err)


def test_fault_bad_yaml(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nsections: [\n", encoding="utf-8")
    with pytest.raises(ChecklistError) as info:
        load_checklist(path)
    assert str(path) in str(info.value) and "YAML 格式错误" in str(info.value)


def test_fault_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ChecklistError) as info:
        load_checklist(path)
    assert "必须是“键: 值”形式的映射" in str(info.value)


def test_fault_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nothing.yaml"
    with pytest.raises(ChecklistError) as info:
        load_checklist(path)
    assert str(path) in str(info.value) and "文件不存在" in str(info.value)
    assert "file not found" in info.value.message("en")


def test_several_faults_are_all_reported(tmp_path: Path) -> None:
    data = _data()
    _question(data, "room_standard")["when"] = {"q": "has_rooom", "eq": True}
    _question(data, "notes")["label"] = {"en": "Notes"}
    err = _refuse(tmp_path, data)
    lines = str(err).splitlines()
    assert len(lines) == 2
    assert any("has_rooom" in line for line in lines)
    assert any("问题 notes：缺少 zh-CN 文本" in line for line in lines)
    assert all(line.startswith(str(tmp_path / "bad.yaml")) for line in lines)


# ---------------------------------------------------------------------------- CLI

runner = CliRunner()


def test_cli_validate_ok() -> None:
    result = runner.invoke(checklist_app, ["validate", str(builtin_path())])
    assert result.exit_code == 0, result.output
    assert "校验通过：township_archive 第 4 版" in result.output and "33" in result.output


def test_cli_validate_bad(tmp_path: Path) -> None:
    data = _data()
    _question(data, "has_room")["when"] = {"q": "has_equipment", "eq": True}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(checklist_app, ["validate", str(path)])
    assert result.exit_code == 1
    assert "has_room" in result.output and "has_equipment" in result.output


def test_cli_show() -> None:
    result = runner.invoke(checklist_app, ["show"])
    assert result.exit_code == 0, result.output
    for key in (
        "leader_named",
        "protections",
        "防有毒气体",
        "has_equipment = true",
        "archivist ≠ none",
        "组织领导",
    ):
        assert key in result.output
    result = runner.invoke(checklist_app, ["show", "--locale", "en", "--file", str(builtin_path())])
    assert result.exit_code == 0, result.output
    assert "Is there a dedicated archive room?" in result.output


# ---------------------------------------------------------------------------- versioning


def _version_2() -> dict[str, Any]:
    """v2: a question added, one removed, a label and a choice label changed, a flag re-weighted."""
    data = builtin_checklist().to_data()
    data["version"] = 2
    staff = next(s for s in data["sections"] if s["key"] == "staff")
    staff["questions"] = [q for q in staff["questions"] if q["key"] != "archivist_is_secretary"]
    room = next(s for s in data["sections"] if s["key"] == "room")
    room["questions"].append(
        {
            "key": "room_area",
            "type": "integer",
            "label": {"zh-CN": "档案室面积（平方米）？", "en": "Room area (m²)?"},
            "min": 0,
            "max": 1000,
            "when": {"q": "has_room", "eq": True},
        }
    )
    _question(data, "has_room")["label"]["zh-CN"] = "是否有专用档案室（专室专用）？"
    _question(data, "equipment_state")["choices"][1]["label"]["zh-CN"] = "老旧"
    return data


def test_later_version_leaves_earlier_inspections_readable() -> None:
    v1 = builtin_checklist()
    v2 = parse_checklist(_version_2(), "v2")
    assert v2.version == 2 and len(v2.questions()) == len(v1.questions())
    # An inspection answered under v1 stores its answers and the checklist version (snapshot).
    snapshot = json.loads(json.dumps(v1.to_data()))
    answers = {
        "has_room": True,
        "archivist": "parttime",
        "archivist_is_secretary": True,
        "has_equipment": True,
        "equipment_state": "worn",
        "filed_up_to": 2020,
    }
    old = parse_checklist(snapshot, "inspection snapshot")
    assert old == v1
    # Read with its own version: labels as they were answered.
    assert old.question("has_room").text("zh-CN") == "是否有专门的档案室？"
    assert format_value(old.question("equipment_state"), "worn", "zh-CN") == "陈旧"
    assert format_value(old.question("archivist_is_secretary"), True, "zh-CN") == "是"
    # Read with the new version: nothing breaks, the removed answer is ignored, the new one is unanswered.
    assert format_value(v2.question("equipment_state"), "worn", "zh-CN") == "老旧"
    eff = effective_answers(v2, answers, 2024)
    assert "archivist_is_secretary" not in eff and "room_area" not in eff
    assert derive(v2, answers, 2024) == derive(v1, answers, 2024)
    # New question parses under v2 only.
    assert parse_answer(v2.question("room_area"), "30", ParseContext(2024)) == Ok(30)
    with pytest.raises(KeyError):
        v1.question("room_area")


def test_stale_choice_key_is_shown_not_lost() -> None:
    q = builtin_checklist().question("equipment_state")
    assert format_value(q, "broken", "zh-CN") == "broken"
    q = builtin_checklist().question("protections")
    assert format_value(q, ["fire", "asbestos"], "zh-CN") == "防火、asbestos"
