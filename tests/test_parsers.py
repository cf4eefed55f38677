"""Table-driven tests of answer understanding: every input form, and the rejections."""

from __future__ import annotations

from typing import Any

import pytest

from bot.engine import (
    Err,
    Ok,
    ParseContext,
    Question,
    applicable,
    builtin_checklist,
    format_value,
    parse_amount,
    parse_answer,
    parse_integer,
    parse_percent,
    parse_year,
    parse_yesno,
    validate_answer,
)

ZH = ParseContext(inspection_year=2024)
EN = ParseContext(inspection_year=2024, locale="en")
C = builtin_checklist()


def q(key: str) -> Question:
    return C.question(key)


def ok(question: str, text: str, ctx: ParseContext = ZH) -> Any:
    result = parse_answer(q(question), text, ctx)
    assert isinstance(result, Ok), f"{text!r} → {result}"
    return result.value


def err(question: str, text: str, ctx: ParseContext = ZH) -> str:
    result = parse_answer(q(question), text, ctx)
    assert isinstance(result, Err), f"{text!r} → {result}"
    return result.message


# ---------------------------------------------------------------------------- yes / no

YESNO = [
    ("是", True),
    ("否", False),
    ("有", True),
    ("没有", False),
    ("无", False),
    ("对", True),
    ("不是", False),
    ("已", True),
    ("未", False),
    ("yes", True),
    ("no", False),
    ("y", True),
    ("n", False),
    ("Y", True),
    ("YES", True),
    ("✓", True),
    ("✗", False),
    ("✔", True),
    ("✘", False),
    ("√", True),
    ("×", False),
    ("是的", True),
    ("有的", True),
    ("没有。", False),
    (" 是 ", True),
    ("是！", True),
    ("有，在二楼", True),
    ("没有，正在申请", False),
    ("已完成", True),
    ("未完成", False),
    ("已建立", True),
    ("没有档案室", False),
    ("尚未", False),
    ("还没有", False),
    ("没问题", True),
    ("没错", True),
    ("ｙｅｓ", True),
]


@pytest.mark.parametrize(("text", "expected"), YESNO)
def test_yesno(text: str, expected: bool) -> None:
    assert ok("has_room", text) is expected
    assert parse_yesno(text, ZH) == Ok(expected)


@pytest.mark.parametrize("text", ["", "   ", "maybe", "也许", "12", "不知道吧也许有可能", "🙂", "是否"])
def test_yesno_rejected(text: str) -> None:
    assert err("has_room", text) == "请回答“是”或“否”（也可以回复 有/没有、✓/✗），例如：是。"
    assert err("has_room", text, EN) == "Please answer yes or no (y/n, ✓/✗), e.g. yes."


# ---------------------------------------------------------------------------- integers

INTEGERS = [
    ("12", 12),
    ("12个", 12),
    ("十二", 12),
    ("一百零五", 105),
    ("１２", 12),
    ("12 个", 12),
    ("两个", 2),
    ("0", 0),
    ("零", 0),
    ("二十", 20),
    ("廿三", 23),
    ("共12个", 12),
    ("约30个", 30),
    ("30个左右", 30),
    ("１２个", 12),
    ("一十二", 12),
    ("十二个村", 12),
    ("12.0", 12),
    ("12 villages", 12),
    ("三百", 300),
]


@pytest.mark.parametrize(("text", "expected"), INTEGERS)
def test_integer(text: str, expected: int) -> None:
    value = ok("villages_total", text)
    assert value == expected and type(value) is int


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.2万", 12000),
        ("一万二", 12000),
        ("两千", 2000),
        ("1万2千", 12000),
        ("-5", -5),
        ("负五", -5),
        ("1,200", 1200),
        ("一千零十", 1010),
        ("壹佰", 100),
        ("3千", 3000),
    ],
)
def test_integer_unbounded(text: str, expected: int) -> None:
    """The integer parser alone (no question bounds): large and negative numbers."""
    assert parse_integer(text, ZH) == Ok(expected)


def test_integer_times_unit() -> None:
    assert ok("archivist_changes", "3次") == 3
    assert ok("archivist_changes", "三次") == 3
    assert ok("archivist_changes", "3 times", EN) == 3


@pytest.mark.parametrize(
    "text", ["abc", "", "十二点", "12个半", "1..2", "--5", "一二三四五六七八九十百千万亿" * 3, "🙂"]
)
def test_integer_rejected(text: str) -> None:
    assert err("villages_total", text) == "请输入一个整数，例如 12 或 十二。"
    assert err("villages_total", text, EN) == "Please enter a whole number, e.g. 12."


def test_integer_not_whole() -> None:
    assert err("villages_total", "12.5") == "请输入一个整数（不带小数），例如 12。"
    assert err("villages_total", "12.5", EN) == "Please enter a whole number without decimals, e.g. 12."


def test_integer_bounds() -> None:
    assert err("villages_total", "1.2万") == "超出范围：应在 0 到 500 之间，例如 12 个。"
    assert err("villages_total", "-3") == "超出范围：应在 0 到 500 之间，例如 12 个。"
    assert err("archivist_changes", "21") == "超出范围：应在 0 到 20 之间，例如 12 次。"
    assert err("villages_total", "600", EN) == "Out of range: expected between 0 and 500, e.g. 12 villages."


def test_huge_number() -> None:
    assert parse_integer("9" * 30, ZH) == Err("这个数字太大了，请检查后重新输入，例如 12。")
    assert isinstance(parse_integer("9" * 500, ZH), Err)


# ---------------------------------------------------------------------------- amounts

AMOUNTS = [
    ("5000", 5000),
    ("5000元", 5000),
    ("五千", 5000),
    ("0.5万元", 5000),
    ("0.5万", 5000),
    ("五千元", 5000),
    ("5000 元", 5000),
    ("¥5000", 5000),
    ("￥5,000", 5000),
    ("1.2万元", 12000),
    ("一万二千元", 12000),
    ("3000块", 3000),
    ("1200.50元", 1200.5),
    ("99.99", 99.99),
    ("0", 0),
    ("２０００元", 2000),
    ("两万", 20000),
    ("5000 yuan", 5000),
    ("1.23456万", 12345.6),
    ("3.333", 3.33),
    ("一千点五", 1000.5),
]


@pytest.mark.parametrize(("text", "expected"), AMOUNTS)
def test_amount(text: str, expected: float) -> None:
    value = ok("funding_amount", text)
    assert value == expected
    assert type(value) is (int if float(expected).is_integer() else float)


@pytest.mark.parametrize("text", ["abc", "", "五千多", "元", "1e5", "five thousand"])
def test_amount_rejected(text: str) -> None:
    assert err("funding_amount", text) == "请输入金额（单位：元），例如 5000、五千 或 0.5万元。"
    assert err("funding_amount", text, EN) == "Please enter an amount in yuan, e.g. 5000 or 0.5万."


def test_amount_bounds() -> None:
    assert err("funding_amount", "-100") == "超出范围：应在 0 到 100000000 之间，例如 5000 元。"
    assert parse_amount("-100", ZH) == Ok(-100)


# ---------------------------------------------------------------------------- years

YEARS = [
    ("2006", 2006),
    ("2006年", 2006),
    ("二〇〇六年", 2006),
    ("二零零六", 2006),
    ("06年", 2006),
    ("06", 2006),
    ("二〇〇六", 2006),
    ("２００６年", 2006),
    ("2006年度", 2006),
    ("两千零六年", 2006),
    ("99年", 1999),
    ("九九年", 1999),
    ("零六年", 2006),
    ("24年", 2024),
    ("2024", 2024),
    ("1949", 1949),
    ("'06", 2006),
    ("2006 年", 2006),
    ("到2006年", 2006),
]


@pytest.mark.parametrize(("text", "expected"), YEARS)
def test_year(text: str, expected: int) -> None:
    assert ok("filed_up_to", text) == expected


@pytest.mark.parametrize(
    ("text", "year", "expected"),
    [
        ("06年", 2024, 2006),
        ("24年", 2024, 2024),
        ("25年", 2024, 1925),
        ("99年", 2024, 1999),
        ("00年", 2024, 2000),
        ("10年", 2009, 1910),
        ("09年", 2009, 2009),
    ],
)
def test_two_digit_year(text: str, year: int, expected: int) -> None:
    assert parse_year(text, ParseContext(inspection_year=year)) == Ok(expected)


@pytest.mark.parametrize("text", ["3000年", "2025", "1948", "25年", "1900年"])
def test_year_out_of_range(text: str) -> None:
    assert err("filed_up_to", text) == "超出范围：应在 1949 到 2024 之间，例如 2006 年。"
    assert err("filed_up_to", text, EN) == "Out of range: expected between 1949 and 2024, e.g. 2006."


def test_year_upper_bound_is_the_inspection_year() -> None:
    assert ok("filed_up_to", "2030", ParseContext(inspection_year=2030)) == 2030
    assert "1949 到 2010" in err("filed_up_to", "2011", ParseContext(inspection_year=2010))


@pytest.mark.parametrize("text", ["abc", "", "6年", "200六", "20066", "0206", "去年", "二〇〇六六年"])
def test_year_rejected(text: str) -> None:
    assert err("filed_up_to", text) == "请输入年份，例如 2006、2006年 或 二〇〇六年。"
    assert err("filed_up_to", text, EN) == "Please enter a year, e.g. 2006."


# ---------------------------------------------------------------------------- percent

PERCENTS = [
    ("80", 80),
    ("80%", 80),
    ("百分之八十", 80),
    ("八成", 80),
    ("８０％", 80),
    ("80 %", 80),
    ("八十", 80),
    ("八成五", 85),
    ("十成", 100),
    ("0", 0),
    ("100%", 100),
    ("62.5%", 62.5),
    ("百分之八十点五", 80.5),
    ("百分之80", 80),
    ("约六成", 60),
    ("0.5", 0.5),
    ("80 percent", 80),
]


@pytest.mark.parametrize(("text", "expected"), PERCENTS)
def test_percent(text: str, expected: float) -> None:
    assert ok("filing_progress", text) == expected


@pytest.mark.parametrize("text", ["150%", "101", "-5%", "百分之一百五十", "十一成"])
def test_percent_out_of_range(text: str) -> None:
    expected = "百分比应在 0 到 100 之间，例如 80%。"
    if text == "十一成":
        expected = "请输入百分比，例如 80%、百分之八十 或 八成。"
    assert err("filing_progress", text) == expected
    assert parse_percent(text, ZH) == Err(expected)


def test_percent_messages_en() -> None:
    assert err("filing_progress", "150%", EN) == "A percentage must be between 0 and 100, e.g. 80%."
    assert err("filing_progress", "abc", EN) == "Please enter a percentage, e.g. 80 or 80%."


@pytest.mark.parametrize("text", ["abc", "", "%", "百分之", "成"])
def test_percent_rejected(text: str) -> None:
    assert err("filing_progress", text) == "请输入百分比，例如 80%、百分之八十 或 八成。"


# ---------------------------------------------------------------------------- single choice

CHOICES = [
    ("专职", "fulltime"),
    ("兼职", "parttime"),
    ("没有", "none"),
    ("无", "none"),
    ("1", "fulltime"),
    ("2", "parttime"),
    ("3", "none"),
    ("３", "none"),
    ("一", "fulltime"),
    ("第二个", "parttime"),
    ("fulltime", "fulltime"),
    ("none", "none"),
    ("full-time", "fulltime"),
    ("Part-time", "parttime"),
    ("兼职的", "parttime"),
    ("专职档案员", "fulltime"),
    ("3.", "none"),
    ("兼任", "parttime"),
]


@pytest.mark.parametrize(("text", "expected"), CHOICES)
def test_single_choice(text: str, expected: str) -> None:
    assert ok("archivist", text) == expected


@pytest.mark.parametrize(
    ("question", "text", "expected"),
    [
        ("equipment_state", "腐烂霉变", "rotten"),
        ("equipment_state", "发霉", "rotten"),
        ("equipment_state", "陈旧", "worn"),
        ("equipment_state", "good", "good"),
        ("work_state", "未开始", "not_started"),
        ("work_state", "还没开始", "not_started"),
        ("work_state", "进行中", "in_progress"),
        ("work_state", "已完成", "done"),
        ("work_state", "3", "done"),
        ("work_state", "in progress", "in_progress"),
    ],
)
def test_single_choice_other_questions(question: str, text: str, expected: str) -> None:
    assert ok(question, text) == expected


@pytest.mark.parametrize("text", ["4", "0", "abc", "", "不是专职", "临时工"])
def test_single_choice_rejected(text: str) -> None:
    message = err("archivist", text)
    assert message == (
        "没有这个选项。请从 1. 专职 / 2. 兼职 / 3. 没有 中选一个，回复编号或名称，例如 1 或 专职。"
    )
    assert err("archivist", text, EN) == (
        "That is not one of the options. Please pick one of 1. full-time / 2. part-time / 3. none "
        "by number or name, e.g. 1 or full-time."
    )


def test_single_choice_ambiguous() -> None:
    assert err("archivist", "专职兼职") == "回复里同时提到了 专职、兼职，请只选一个，例如 专职。"


# ---------------------------------------------------------------------------- multi choice

ALL8 = ["fire", "theft", "insects", "mould", "light", "dust", "damp", "gas"]
MULTI = [
    ("1,3,5", ["fire", "insects", "light"]),
    ("1，3，5", ["fire", "insects", "light"]),
    ("1、3、5", ["fire", "insects", "light"]),
    ("1 3 5", ["fire", "insects", "light"]),
    ("5,3,1", ["fire", "insects", "light"]),
    ("１,３", ["fire", "insects"]),
    ("防火、防盗", ["fire", "theft"]),
    ("防盗、防火", ["fire", "theft"]),
    ("防火，防盗", ["fire", "theft"]),
    ("防火防盗", ["fire", "theft"]),
    ("防火和防潮", ["fire", "damp"]),
    ("火、盗、虫", ["fire", "theft", "insects"]),
    ("全部", ALL8),
    ("都有", ALL8),
    ("all", ALL8),
    ("都没有", []),
    ("没有", []),
    ("无", []),
    ("none", []),
    ("防有毒气体", ["gas"]),
    ("8", ["gas"]),
    ("防火、1", ["fire"]),
    ("fire, theft", ["fire", "theft"]),
    ("一、二", ["fire", "theft"]),
    ("防火、防盗、防虫、防霉、防光、防尘、防潮、防有毒气体", ALL8),
]


@pytest.mark.parametrize(("text", "expected"), MULTI)
def test_multi_choice(text: str, expected: list[str]) -> None:
    assert ok("protections", text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("税改、延包", ["tax_reform", "land_contract"]),
        ("tax reform", ["tax_reform"]),
        ("tax reform, other", ["tax_reform", "other"]),
        ("1,2,3", ["tax_reform", "land_contract", "other"]),
        ("土地延包", ["land_contract"]),
        ("都没有", []),
    ],
)
def test_multi_choice_villages(text: str, expected: list[str]) -> None:
    assert ok("village_kinds", text) == expected


@pytest.mark.parametrize(
    ("text", "token"), [("防火、xyz", "xyz"), ("9", "9"), ("1,3,135", "135"), ("abc", "abc")]
)
def test_multi_choice_rejected(text: str, token: str) -> None:
    message = err("protections", text)
    assert message.startswith(f"没有找到“{token}”。可选：1. 防火 / 2. 防盗")
    assert "例如 1,3 或 防火、防盗" in message and "“全部”" in message and "“都没有”" in message
    assert err("protections", text, EN).startswith(f"'{token}' is not an option. Options: 1. fire / 2. theft")


def test_multi_choice_empty() -> None:
    assert err("protections", "  ").startswith("请选择一项或多项：1. 防火")
    assert err("protections", "、、").startswith("请选择一项或多项：1. 防火")


# ---------------------------------------------------------------------------- text and photo


def test_text() -> None:
    assert ok("notes", "  档案室在二楼  ") == "档案室在二楼"
    assert ok("notes", "第一行\n第二行") == "第一行\n第二行"
    assert ok("notes", "a\x00b\x07c") == "abc"
    assert err("notes", "   ") == "请输入文字内容，例如：档案室在二楼，正在整修。"
    assert err("notes", "字" * 1001) == "内容太长了（1001 字），请控制在 1000 字以内。"
    assert ok("notes", "字" * 1000) == "字" * 1000


def test_photo_question_wants_a_photo() -> None:
    assert (
        err("photos", "hello")
        == "这一题需要照片，请直接发送照片（可以发送多张），例如档案室全景和档案柜的照片。"
    )
    assert err("photos", "hello", EN).startswith("This question needs photos")


# ---------------------------------------------------------------------------- display form


@pytest.mark.parametrize(
    ("question", "value", "zh", "en"),
    [
        ("has_room", True, "是", "yes"),
        ("has_room", False, "否", "no"),
        ("archivist", "parttime", "兼职", "part-time"),
        ("protections", ["fire", "theft"], "防火、防盗", "fire, theft"),
        ("protections", [], "都没有", "none"),
        ("villages_total", 12, "12 个", "12 villages"),
        ("funding_amount", 5000, "5000 元", "5000 yuan"),
        ("funding_amount", 1200.5, "1200.5 元", "1200.5 yuan"),
        ("filed_up_to", 2006, "2006 年", "2006"),
        ("filing_progress", 80, "80%", "80%"),
        ("filing_progress", 62.5, "62.5%", "62.5%"),
        ("notes", "备注", "备注", "备注"),
        ("photos", [{"file_id": "a"}, {"file_id": "b"}], "2 张照片", "2 photo(s)"),
        ("has_room", None, "未填写", "not answered"),
    ],
)
def test_format_value(question: str, value: Any, zh: str, en: str) -> None:
    assert format_value(q(question), value, "zh-CN") == zh
    assert format_value(q(question), value, "en") == en


# ------------------------------------------------------------------------ cross-question checks, skip logic


def test_established_more_than_total_is_refused_whichever_comes_second() -> None:
    message = "已建档的村(社区)数（15 个）不能多于村(社区)总数（12 个），请核对后重新输入。"
    assert validate_answer(C, q("villages_established"), 15, {"villages_total": 12}, ZH) == message
    assert validate_answer(C, q("villages_total"), 12, {"villages_established": 15}, ZH) == message
    assert validate_answer(C, q("villages_established"), 15, {"villages_total": 12}, EN) == (
        "Villages with archives (15 villages) cannot exceed the total (12 villages); "
        "please check and enter again."
    )


def test_established_within_total_passes() -> None:
    assert validate_answer(C, q("villages_established"), 12, {"villages_total": 12}, ZH) is None
    assert validate_answer(C, q("villages_established"), 3, {"villages_total": 12}, ZH) is None
    # Only one of the two answered: nothing to compare yet.
    assert validate_answer(C, q("villages_total"), 12, {}, ZH) is None
    # A question no check reads.
    assert validate_answer(C, q("has_room"), True, {}, ZH) is None


def test_task_done_but_not_started_is_refused() -> None:
    message = validate_answer(C, q("work_state"), "not_started", {"annual_task_done": True}, ZH)
    assert message == "前面回答本年度归档任务已完成，这里却是“未开始”，请核对后重新选择。"
    assert validate_answer(C, q("work_state"), "done", {"annual_task_done": True}, ZH) is None
    assert validate_answer(C, q("work_state"), "not_started", {"annual_task_done": False}, ZH) is None


@pytest.mark.parametrize(
    ("key", "answers", "expected"),
    [
        ("equipment_state", {"has_equipment": True}, True),
        ("equipment_state", {"has_equipment": False}, False),
        ("protections", {"has_equipment": False}, False),
        ("protections", {}, False),
        ("archivist_certificate", {"archivist": "none"}, False),
        ("archivist_trained", {"archivist": "none"}, False),
        ("archivist_certificate", {"archivist": "parttime"}, True),
        ("archivist_changes", {"archivist": "none"}, True),
        ("funding_amount", {"has_funding": False}, False),
        ("funding_amount", {"has_funding": True}, True),
        ("villages_established", {"villages_total": 0}, False),
        ("villages_established", {"villages_total": 3}, True),
        ("filing_progress", {"work_state": "in_progress"}, True),
        ("filing_progress", {"work_state": "done"}, False),
        ("has_room", {}, True),
    ],
)
def test_applicable(key: str, answers: dict[str, Any], expected: bool) -> None:
    assert applicable(q(key), answers) is expected
